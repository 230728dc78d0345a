/**
 * What the HTTP benchmarks share: free ports, servers pinned to one core,
 * autocannon pinned to the other, readiness polling and RSS readings.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Database } from "@minispod/db";
import {
  type BaseEnv,
  buildContext,
  createTokenSigner,
  type FunctionDefinition,
  generateSigningKey,
  memoryPublisher,
  memoryStore,
} from "@minispod/shared";

export const root = fileURLToPath(new URL("../../../", import.meta.url));
const autocannonCli = fileURLToPath(import.meta.resolve("autocannon/autocannon.js"));

/** Core the servers run on, and the core of this process and the load generator. */
export const SERVER_CORE = 0;
export const LOAD_CORE = cpus().length > 1 ? 1 : 0;

/** Pins this process (and so the load generator it spawns) to the load core. */
export function pinSelf(): void {
  execFileSync("taskset", ["-pc", String(LOAD_CORE), String(process.pid)], { stdio: "ignore" });
}

export function machineLine(): string {
  const [one, five] = loadavg();
  return `${cpus().length} cores; server on core ${SERVER_CORE}, load generator on core ${LOAD_CORE}; load average ${one!.toFixed(2)} (1 min) ${five!.toFixed(2)} (5 min)`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Server {
  name: string;
  port: number;
  url: string;
  proc: ChildProcess;
  /** Spawn -> first 200 from /health/readiness. */
  readyMs: number;
  /** Resident set size now, MiB (from /proc). */
  rssMiB(): number;
  stop(): Promise<void>;
}

/**
 * Spawns `node <args>` on the server core and waits for readiness. Output is
 * discarded, as a container's stdout pipe would take it (logs stay on).
 */
export async function startServer(
  name: string,
  args: string[],
  env: Record<string, string>,
  options: { cwd?: string; nodeArgs?: string[]; command?: string[] } = {},
): Promise<Server> {
  const port = await freePort();
  const command = options.command ?? [process.execPath, ...(options.nodeArgs ?? []), ...args];
  const started = performance.now();
  const proc = spawn("taskset", ["-c", String(SERVER_CORE), ...command], {
    cwd: options.cwd ?? root,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  let stderr = "";
  proc.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited early:\n${stderr}`);
    try {
      const res = await fetch(`${url}/health/readiness`);
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (performance.now() - started > 60_000) throw new Error(`${name} not ready:\n${stderr}`);
    await sleep(5);
  }
  const readyMs = performance.now() - started;
  return {
    name,
    port,
    url,
    proc,
    readyMs,
    rssMiB: () => {
      const status = readFileSync(`/proc/${proc.pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    },
    stop: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once("exit", r));
      // The whole group: `npm start` runs node under npm and tsx.
      process.kill(-proc.pid!, "SIGTERM");
      const timer = setTimeout(() => process.kill(-proc.pid!, "SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * A V8 compile cache for a bundle, filled the way the Dockerfile fills it: one
 * start without configuration, which loads every module and exits on the
 * missing DATABASE_URL; Node writes the cache at exit. Pass the folder as
 * NODE_COMPILE_CACHE (same user, same node flags) to start from it.
 */
export function warmCompileCache(bundle: string): string {
  const dir = mkdtempSync(join(tmpdir(), "minispod-compile-cache-"));
  spawnSync(process.execPath, [bundle], {
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "production", NODE_COMPILE_CACHE: dir },
    stdio: "ignore",
  });
  if (readdirSync(dir).length === 0) throw new Error(`no compile cache written for ${bundle}`);
  return dir;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}

/** autocannon on the load core against one URL. */
export async function load(
  url: string,
  options: {
    connections?: number;
    seconds: number;
    headers?: Record<string, string>;
    method?: string;
    body?: string;
    timeoutSeconds?: number;
  },
): Promise<LoadResult> {
  const args = [
    "-c",
    String(options.connections ?? 50),
    "-d",
    String(options.seconds),
    "-t",
    String(options.timeoutSeconds ?? 10),
    "--json",
  ];
  for (const [k, v] of Object.entries(options.headers ?? {})) args.push("-H", `${k}=${v}`);
  if (options.method) args.push("-m", options.method);
  if (options.body) args.push("-b", options.body);
  args.push(url);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      "taskset",
      ["-c", String(LOAD_CORE), process.execPath, autocannonCli, ...args],
      { stdio: ["ignore", "pipe", "ignore"] },
    );
    let text = "";
    child.stdout.on("data", (c: Buffer) => {
      text += c.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(text) : reject(new Error(`autocannon exited ${code}`)),
    );
  });
  const r = JSON.parse(out) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    errors: number;
    timeouts: number;
    non2xx: number;
    duration: number;
  };
  return {
    rps: r.requests.total / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
  };
}

/**
 * A function's context for an in-process bench: the given database, memory
 * cache and rate limits, a recording publisher and a throwaway signing key.
 */
export async function inProcessContext<E extends BaseEnv>(
  definition: FunctionDefinition<E>,
  env: E,
  database: Database,
) {
  const memory = memoryStore();
  const signer = createTokenSigner(await generateSigningKey(), {
    issuer: "minispod",
    audience: "minispod-api",
  });
  return buildContext(definition, env, {
    database,
    store: memory,
    limiter: memory,
    publisher: memoryPublisher(),
    verifier: signer.verifier(),
    close: () => database.close(),
  });
}

/** CPU time used so far by every thread of a process, ms (Linux). */
export function cpuMs(pid: number): number {
  let total = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8");
    total += Number(stat.split(" ")[0]) / 1e6;
  }
  return total;
}
