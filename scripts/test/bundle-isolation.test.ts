import { type ChildProcess, spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cloneDatabase } from "@minispod/db/testing";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { testSecrets } from "../src/deploy/containers";
import { serviceEnv } from "../src/deploy/service-env";
import { freePort, repoRoot } from "./support/process";

/**
 * What ships, started alone: each function's production bundle is copied into
 * an empty folder outside the checkout with only what its image adds beside it
 * (migrations, native addons installed from natives.json as the Dockerfile
 * does), then started with Node 24 and the env its Knative Service gives,
 * against real PostgreSQL and Redis. A run-time package resolution, a missing
 * native addon or a read of the source tree makes a function fail readiness.
 */
const names = readdirSync(join(repoRoot, "functions")).filter((d) =>
  existsSync(join(repoRoot, "functions", d, "src", "main.ts")),
);
const work = mkdtempSync(join(tmpdir(), "minispod-isolation-"));
const folders = new Map<string, string>();
const cleanup: (() => Promise<void>)[] = [];
let secrets: Record<string, string> = {};

function run(command: string, args: string[], cwd: string, env = process.env) {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    child.once("exit", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(" ")}: ${output}`)),
    );
  });
}

/** Builds every bundle, two at a time (this machine has two cores). */
async function buildAll() {
  const queue = [...names];
  const builder = async () => {
    for (let name = queue.shift(); name; name = queue.shift()) {
      await run(
        process.execPath,
        [join(repoRoot, "scripts", "build-function.mjs")],
        join(repoRoot, "functions", name),
      );
    }
  };
  await Promise.all([builder(), builder()]);
}

/** The image's /app: the bundle's dist/ (maps left out) and its natives installed beside it. */
async function imageFolder(name: string, natives: string): Promise<string> {
  const dist = join(repoRoot, "functions", name, "dist");
  const app = join(work, name);
  cpSync(dist, app, { recursive: true, filter: (src) => !src.endsWith(".map") });
  const wanted = JSON.parse(readFileSync(join(dist, "natives.json"), "utf8")) as Record<
    string,
    string
  >;
  if (Object.keys(wanted).length > 0)
    cpSync(join(natives, "node_modules"), join(app, "node_modules"), { recursive: true });
  return app;
}

/** Every native addon any bundle lists, installed once the way the Dockerfile installs them. */
async function installNatives(): Promise<string> {
  const specs = new Set<string>();
  for (const name of names) {
    const wanted = JSON.parse(
      readFileSync(join(repoRoot, "functions", name, "dist", "natives.json"), "utf8"),
    ) as Record<string, string>;
    for (const [pkg, version] of Object.entries(wanted)) specs.add(`${pkg}@${version}`);
  }
  const dir = join(work, "natives");
  mkdirp(dir);
  if (specs.size > 0)
    await run(
      "npm",
      [
        "install",
        "--omit=dev",
        "--no-save",
        "--no-package-lock",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        ...specs,
      ],
      dir,
    );
  return dir;
}
const mkdirp = (dir: string) => mkdirSync(dir, { recursive: true });

interface Started {
  child: ChildProcess;
  output: () => string;
  port: number;
}

function start(file: string, cwd: string, env: Record<string, string>, port: number): Started {
  // Exactly the image's environment: nothing inherited from this process but PATH.
  const child = spawn(process.execPath, [file], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (c) => (output += c));
  child.stderr?.on("data", (c) => (output += c));
  return { child, output: () => output.slice(-2000), port };
}

async function stop(started: Started) {
  if (started.child.exitCode !== null) return;
  const exited = new Promise((r) => started.child.once("exit", r));
  started.child.kill("SIGTERM");
  await exited;
}

/** The status of /health/readiness once it answers 200, or the last one after `ms`. */
async function readiness(started: Started, ms = 20_000): Promise<number | string> {
  const deadline = Date.now() + ms;
  let last: number | string = "no answer";
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null) return `exited with ${started.child.exitCode}`;
    try {
      const res = await fetch(`http://127.0.0.1:${started.port}/health/readiness`);
      await res.body?.cancel();
      last = res.status;
      if (res.status === 200) return 200;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return last;
}

beforeAll(async () => {
  await buildAll();
  const natives = await installNatives();
  for (const name of names) folders.set(name, await imageFolder(name, natives));
  const database = await cloneDatabase(inject("databaseServerUrl"), inject("templateDatabase"));
  cleanup.push(database.drop);
  // The same test values for minispod-secrets as the image smoke checks (containers.ts).
  const made = await testSecrets(database.url, inject("redisUrl"));
  cleanup.push(async () => rmSync(made.dir, { recursive: true, force: true }));
  secrets = { ...made.secrets, KUBECONFIG: made.kubeconfig };
}, 600_000);

afterAll(async () => {
  for (const drop of cleanup) await drop();
  rmSync(work, { recursive: true, force: true });
});

/** The env of the Dockerfile's runtime stage, for a bundle in `app`. */
const imageEnv = (app: string, port: number) => ({
  NODE_ENV: "production",
  PORT: String(port),
  MIGRATIONS_DIR: join(app, "migrations"),
});

describe("production bundles alone, outside the checkout", () => {
  it("covers every function", () => {
    expect(names).toHaveLength(14);
  });

  it.each(names)("%s answers readiness 200", async (name) => {
    const app = folders.get(name)!;
    expect(app.startsWith(repoRoot)).toBe(false);
    const port = await freePort();
    const env = {
      ...serviceEnv(repoRoot, name, secrets, "http://127.0.0.1:9/broker"),
      ...(name === "provisioner" || name === "instances"
        ? { KUBECONFIG: secrets.KUBECONFIG! }
        : {}),
      LOG_LEVEL: "warn",
      ...imageEnv(app, port),
    };
    const started = start("main.mjs", app, env, port);
    try {
      expect(await readiness(started), started.output()).toBe(200);
    } finally {
      await stop(started);
    }
  });

  it("serves /docs with the Swagger UI files embedded in the bundle", async () => {
    const app = folders.get("catalog")!;
    const port = await freePort();
    const env = {
      ...serviceEnv(repoRoot, "catalog", secrets, "http://127.0.0.1:9/broker"),
      ...imageEnv(app, port),
    };
    const started = start("main.mjs", app, env, port);
    try {
      expect(await readiness(started), started.output()).toBe(200);
      const page = await (await fetch(`http://127.0.0.1:${port}/docs`)).text();
      const assets = [...page.matchAll(/(?:href|src)="(docs\/assets\/[^"]+)"/g)].map((m) => m[1]!);
      expect(assets.length).toBe(3);
      for (const asset of assets) {
        const res = await fetch(`http://127.0.0.1:${port}/${asset}`);
        const body = await res.text();
        expect(res.status, asset).toBe(200);
        expect(body.length, asset).toBeGreaterThan(asset.endsWith("init.js") ? 100 : 10_000);
      }
    } finally {
      await stop(started);
    }
  });

  it("serves the portal's pages with their browser code embedded in the bundle", async () => {
    const app = folders.get("portal")!;
    const port = await freePort();
    const env = {
      ...serviceEnv(repoRoot, "portal", secrets, "http://127.0.0.1:9/broker"),
      ...imageEnv(app, port),
    };
    const started = start("main.mjs", app, env, port);
    try {
      expect(await readiness(started), started.output()).toBe(200);
      const page = await (await fetch(`http://127.0.0.1:${port}/instances/abc`)).text();
      const assets = [...page.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
      expect(assets.length).toBe(2);
      for (const asset of assets) {
        const res = await fetch(`http://127.0.0.1:${port}${asset}`);
        expect(res.status, asset).toBe(200);
        expect((await res.text()).length, asset).toBeGreaterThan(1_000);
      }
    } finally {
      await stop(started);
    }
  });

  it("the migrate bundle migrates an empty database", async () => {
    const server = inject("databaseServerUrl");
    const empty = `minispod_isolation_${process.pid}`;
    const admin = postgres(server, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists "${empty}" with (force)`);
    await admin.unsafe(`create database "${empty}"`);
    const url = new URL(server);
    url.pathname = `/${empty}`;
    try {
      const app = folders.get("auth")!;
      const started = start(
        "migrate.mjs",
        app,
        { DATABASE_URL: url.toString(), ...imageEnv(app, 0) },
        0,
      );
      const code = await new Promise((r) => started.child.once("exit", r));
      expect(code, started.output()).toBe(0);
      const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
      try {
        const [row] = await sql<
          { n: number }[]
        >`select count(*)::int as n from information_schema.tables where table_schema = 'public'`;
        expect(row!.n).toBeGreaterThan(5);
      } finally {
        await sql.end();
      }
    } finally {
      await admin.unsafe(`drop database if exists "${empty}" with (force)`);
      await admin.end();
    }
  });
});
