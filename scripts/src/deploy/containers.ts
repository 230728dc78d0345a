import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { exportKeyPem, generateSigningKey } from "@minispod/shared";
import postgres from "postgres";
import { serviceEnv, UNREACHABLE_KUBECONFIG } from "./service-env";

/**
 * Runs the function images under podman the way knative/base runs them: the
 * Services' securityContext (read-only root filesystem, uid 1000, every
 * capability dropped, no new privileges; podman's default seccomp profile)
 * and the env of each Service, on the host network so a container reaches
 * PostgreSQL and Redis on 127.0.0.1. Shared by the smoke checks
 * (smoke-images.ts) and the image bench (bench/images.ts).
 */
export const repo = fileURLToPath(new URL("../../../", import.meta.url));
export const functionNames = readdirSync(join(repo, "functions")).sort();

export const SECURITY_CONTEXT = [
  "--read-only",
  "--user",
  "1000:1000",
  "--cap-drop=ALL",
  "--security-opt",
  "no-new-privileges",
];
const KUBECONFIG_IN_CONTAINER = "/etc/minispod/kubeconfig";
/** Every container started here carries it, so a cleanup (.ci/run) finds what a crash left. */
export const CONTAINER_LABEL = "minispod.check=images";

/** `localhost/minispod/fn-<name>:<tag>`, what `images.sh --local` builds. */
export const imageOf = (
  name: string,
  registry = process.env.REGISTRY ?? "localhost",
  tag = process.env.TAG ?? "dev",
) => `${registry}/minispod/fn-${name}:${tag}`;

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function podman(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync("podman", args, {
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  return { status: run.status, stdout: run.stdout.trim(), stderr: run.stderr.trim() };
}

/** A fresh, empty database on the server of `serverUrl`; drop() removes it. */
export async function freshDatabase(serverUrl: string, name: string) {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const sql = postgres(serverUrl, { max: 1, onnotice: () => {} });
      await sql.unsafe(`drop database if exists "${name}" with (force)`);
      await sql.end();
    },
  };
}

/** Test values for minispod-secrets, and a kubeconfig file to mount for the cluster functions. */
export async function testSecrets(databaseUrl: string, redisUrl: string) {
  const keys = await exportKeyPem(await generateSigningKey());
  const dir = mkdtempSync(join(tmpdir(), "minispod-containers-"));
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(kubeconfig, UNREACHABLE_KUBECONFIG, { mode: 0o644 });
  const secrets: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    JWT_PRIVATE_KEY: keys.privatePem,
    JWT_PUBLIC_KEY: keys.publicPem,
    SMTP_HOST: "127.0.0.1",
    PAYMENT_GATEWAY_URL: "http://127.0.0.1:9/payments",
    PAYMENT_API_KEY: "smoke",
    PAYMENT_WEBHOOK_SECRET: "whsec_c21va2Utc21va2Utc21va2Utc21va2U=",
    CREDENTIALS_KEYS: `smoke:${Buffer.alloc(32, 1).toString("base64")}`,
  };
  return { secrets, kubeconfig, dir };
}

export interface Container {
  name: string;
  port: number;
  /** ms from `podman run` to readiness 200. */
  readyMs?: number;
  logs(): string;
  stop(): void;
}

/**
 * Starts `image` detached under the securityContext, with `env` passed by
 * name (values never on the command line), and waits for readiness 200.
 * Throws with the container's log when it exits or stays unready.
 */
export async function runReady(
  image: string,
  env: Record<string, string>,
  options: { kubeconfig?: string; command?: string[]; timeoutMs?: number } = {},
): Promise<Container> {
  const port = await freePort();
  const name = `minispod-${Math.random().toString(36).slice(2, 10)}`;
  const all: Record<string, string> = { ...env, PORT: String(port) };
  const args = ["run", "-d", "--name", name, "--label", CONTAINER_LABEL, "--network", "host"];
  args.push(...SECURITY_CONTEXT);
  if (options.kubeconfig) {
    args.push("-v", `${options.kubeconfig}:${KUBECONFIG_IN_CONTAINER}:ro`);
    all.KUBECONFIG = KUBECONFIG_IN_CONTAINER;
  }
  for (const key of Object.keys(all)) args.push("-e", key);
  args.push(image, ...(options.command ?? []));
  const started = performance.now();
  const run = podman(args, all);
  if (run.status !== 0) throw new Error(`podman run ${image}: ${run.stderr}`);
  const container: Container = {
    name,
    port,
    logs: () => {
      const out = podman(["logs", name]);
      return `${out.stdout}\n${out.stderr}`.trim().slice(-1500);
    },
    stop: () => {
      podman(["rm", "-f", "-t", "2", name]);
    },
  };
  const deadline = started + (options.timeoutMs ?? 60_000);
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health/readiness`);
      await res.body?.cancel();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    const state = podman(["inspect", "--format", "{{.State.Status}}", name]).stdout;
    if (state === "exited" || performance.now() > deadline) {
      const logs = container.logs();
      container.stop();
      throw new Error(`${image} ${state === "exited" ? "exited" : "not ready in time"}: ${logs}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  container.readyMs = performance.now() - started;
  return container;
}

/** The env of function `name`'s Service, for a container (cluster functions get a kubeconfig). */
export function containerEnv(name: string, secrets: Record<string, string>) {
  return serviceEnv(repo, name, secrets, "http://127.0.0.1:9/broker");
}

export const needsCluster = (name: string) => name === "provisioner" || name === "instances";

/** Runs `image`'s command to completion under the securityContext; resolves with its exit code and log. */
export function runToExit(image: string, env: Record<string, string>, command: string[]) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const args = [
      "run",
      "--rm",
      "--label",
      CONTAINER_LABEL,
      "--network",
      "host",
      ...SECURITY_CONTEXT,
    ];
    for (const key of Object.keys(env)) args.push("-e", key);
    const child = spawn("podman", [...args, image, ...command], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    child.once("exit", (code) => resolve({ code, output: output.slice(-1500) }));
  });
}

/** Resident memory of the container's main process (its host pid's VmRSS), in bytes. */
export function containerRss(name: string): number {
  const pid = podman(["inspect", "--format", "{{.State.Pid}}", name]).stdout;
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) * 1024;
}
