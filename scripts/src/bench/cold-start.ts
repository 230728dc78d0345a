/**
 * Scale-to-zero cost of every function: each bundle (the file its image runs) is
 * spawned the way the image starts it (`node main.mjs`, NODE_ENV=production)
 * and timed from spawn to the first 200 of /health/readiness; its resident
 * memory is read after a second of idling. Each bundle starts twice per round:
 * with a V8 compile cache filled the way the Dockerfile fills it at image build
 * (the image's figure) and without one. A bare node:http server, spawned the
 * same way and polled the same way, runs in the same rounds, so the figures are
 * ratios on this machine rather than absolute numbers. Goals: cold start at
 * most 2x bare, idle RSS at most 1.5x bare.
 *
 *   npm run bench -- cold-start
 *
 * Needs PostgreSQL and Redis (readiness pings both), as a pod does:
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) and
 * BENCH_REDIS_URL (default redis://127.0.0.1:6379). BENCH_ROUNDS (default 5).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { exportKeyPem, generateSigningKey } from "@minispod/shared";
import { functions } from "../local/functions";
import { warmCompileCache } from "./harness";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** A port free now (the child binds it right after). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Resident set size of a live process, in bytes (Linux /proc, else ps). */
function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    if (kb) return Number(kb) * 1024;
  } catch {
    // not Linux
  }
  const ps = spawnSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8" });
  return Number(ps.stdout.trim()) * 1024;
}

interface Sample {
  startMs: number;
  rss: number;
}

/** Spawns `node <file>` in `cwd`, waits for readiness 200, idles, measures, stops. */
async function measure(file: string, cwd: string, env: Record<string, string>): Promise<Sample> {
  const port = await freePort();
  const started = performance.now();
  let output = "";
  const child: ChildProcess = spawn(process.execPath, [file], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env, PORT: String(port) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`${file} exited with ${child.exitCode}: ${output.slice(-800)}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health/readiness`);
        await res.body?.cancel();
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      if (performance.now() - started > 30_000)
        throw new Error(`${file} was not ready within 30 s: ${output.slice(-800)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const startMs = performance.now() - started;
    // Idle, as a scaled-up pod waits between requests; the GC settles meanwhile.
    await new Promise((r) => setTimeout(r, 1000));
    return { startMs, rss: rssBytes(child.pid ?? 0) };
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

const BARE_SERVER = `import { createServer } from "node:http";
createServer((req, res) => { res.writeHead(200, { "content-type": "application/json" }); res.end('{"status":"ok"}'); })
  .listen(Number(process.env.PORT), "127.0.0.1");
`;

/** Builds one function's bundle (dist/main.mjs) the way the image does; returns its folder. */
function buildBundle(name: string): string {
  const dir = join(root, "functions", name);
  const run = spawnSync(process.execPath, [join(root, "scripts", "build-function.mjs")], {
    cwd: dir,
    encoding: "utf8",
  });
  if (run.status !== 0) throw new Error(`building ${name} failed: ${run.stderr}`);
  return join(dir, "dist");
}

export async function coldStartBench() {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const keys = await exportKeyPem(await generateSigningKey());
  // The settings of knative/base/config.yaml that matter at start, plus the secrets.
  const env: Record<string, string> = {
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    DATABASE_URL: process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
    REDIS_URL: process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379",
    REDIS_KEY_PREFIX: "bench-cold-start:",
    JWT_PRIVATE_KEY: keys.privatePem,
    JWT_PUBLIC_KEY: keys.publicPem,
    JWT_ISSUER: "minispod",
    JWT_AUDIENCE: "minispod-api",
    APP_URL: "https://app.example.com",
    SMTP_HOST: "127.0.0.1",
    PAYMENT_GATEWAY_URL: "http://127.0.0.1:9/payments",
    PAYMENT_API_KEY: "bench",
    PAYMENT_WEBHOOK_SECRET: "whsec_YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2g=",
    K8S_NAMESPACE_PREFIX: "customer-",
    K8S_CLUSTER_DOMAIN: "apps.example.com",
  };
  const bareDir = mkdtempSync(join(tmpdir(), "minispod-bare-"));
  const cleanup = [bareDir];
  writeFileSync(join(bareDir, "main.mjs"), BARE_SERVER);
  try {
    const bundles = functions.map((f) => {
      const dir = buildBundle(f.name);
      const cache = warmCompileCache(join(dir, "main.mjs"));
      return { name: f.name, dir, cache, kib: statSync(join(dir, "main.mjs")).size / 1024 };
    });
    cleanup.push(...bundles.map((b) => b.cache));
    const samples = new Map<string, Sample[]>();
    const refused = new Map<string, string>();
    const add = (key: string, s: Sample) => samples.set(key, [...(samples.get(key) ?? []), s]);
    // Interleaved rounds: drift on a shared machine hits the bare server and every function alike.
    for (let round = 0; round < rounds; round++) {
      for (const bundle of bundles) {
        if (refused.has(bundle.name)) continue;
        add("bare", await measure("main.mjs", bareDir, env));
        // Functions that need a real cluster (provisioner, instances refuse the simulated
        // driver in production) cannot start here: they are listed, not timed.
        try {
          add(`${bundle.name} no cache`, await measure("main.mjs", bundle.dir, env));
        } catch (error) {
          refused.set(bundle.name, (error as Error).message.split("\n").slice(-3).join(" ").trim());
          continue;
        }
        add(
          bundle.name,
          await measure("main.mjs", bundle.dir, { ...env, NODE_COMPILE_CACHE: bundle.cache }),
        );
      }
    }
    const bare = samples.get("bare") ?? [];
    const bareStart = median(bare.map((s) => s.startMs));
    const bareRss = median(bare.map((s) => s.rss));
    const mib = (b: number) => (b / 1024 / 1024).toFixed(1);
    console.log(
      `\ncold start per function bundle (spawn -> readiness 200; image: compile cache warmed at build) and idle RSS, median of ${rounds} rounds`,
    );
    console.log(
      `  bare node:http server: ${bareStart.toFixed(0)} ms, ${mib(bareRss)} MiB (node ${process.version})`,
    );
    console.log(
      `  ${"function".padEnd(20)}${"bundle".padStart(10)}${"start".padStart(9)}${"x bare".padStart(8)}${"RSS".padStart(10)}${"x bare".padStart(8)}  goals (2x, 1.5x)  ${"no cache".padStart(9)}${"x bare".padStart(8)}`,
    );
    for (const bundle of bundles) {
      const reason = refused.get(bundle.name);
      if (reason) {
        console.log(`  ${bundle.name.padEnd(20)}not started here: ${reason.slice(0, 160)}`);
        continue;
      }
      const xs = samples.get(bundle.name) ?? [];
      const start = median(xs.map((s) => s.startMs));
      const rss = median(xs.map((s) => s.rss));
      const [startRatio, rssRatio] = [start / bareStart, rss / bareRss];
      const plain = median((samples.get(`${bundle.name} no cache`) ?? []).map((s) => s.startMs));
      const figures = `${`${bundle.kib.toFixed(0)} KiB`.padStart(10)}${`${start.toFixed(0)} ms`.padStart(9)}${startRatio.toFixed(2).padStart(8)}${`${mib(rss)} MiB`.padStart(10)}${rssRatio.toFixed(2).padStart(8)}`;
      const verdict = `${startRatio <= 2 ? "ok" : "MISSED"} / ${rssRatio <= 1.5 ? "ok" : "MISSED"}`;
      const noCache = `${`${plain.toFixed(0)} ms`.padStart(9)}${(plain / bareStart).toFixed(2).padStart(8)}`;
      console.log(`  ${bundle.name.padEnd(20)}${figures}  ${verdict.padEnd(17)}${noCache}`);
    }
  } finally {
    for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
  }
}
