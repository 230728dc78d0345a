/**
 * The main table (`npm run bench`): each hot path of a production bundle next
 * to a small baseline program doing the same work, in the same run, server on
 * one core and autocannon on the other, rounds alternating, medians reported.
 *
 *   npm run bench                       # the whole table (about 8 minutes)
 *   npm run bench -- table --profile    # also a CPU profile of auth under /me load
 *   BENCH_ROUNDS=5 BENCH_SECONDS=10 npm run bench
 *
 * Needs PostgreSQL (BENCH_DATABASE_URL, default the local server; a database
 * `minispod_bench` is recreated) and Redis (BENCH_REDIS_URL, default local).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDb, serviceCatalog, users } from "@minispod/db";
import { createTokenSigner, exportKeyPem, generateSigningKey } from "@minispod/shared";
import { hashSync } from "@node-rs/bcrypt";
import postgres from "postgres";
import {
  type LoadResult,
  load,
  machineLine,
  pinSelf,
  root,
  SERVER_CORE,
  type Server,
  sleep,
  startServer,
  warmCompileCache,
} from "./harness";
import { profileUnderLoad } from "./profile";
import { median } from "./stats";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const RSS_LOAD_SECONDS = Number(process.env.BENCH_RSS_SECONDS ?? 60);
const baselines = join(root, "scripts/src/bench/baselines");
const bundle = (fn: string) => join(root, "functions", fn, "dist/main.mjs");

interface Row {
  label: string;
  path: string;
  ours: Server;
  base: Server;
  baseLabel: string;
  oursResults: LoadResult[];
  baseResults: LoadResult[];
}

/**
 * Fresh database with one user and a few catalog entries, built bundles, the
 * Prisma client, a token, and the env the bundles and baselines run with.
 */
export async function prepare(options: { build?: boolean } = {}) {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const redisUrl = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
  const databaseUrl = await freshDatabase(adminUrl, "minispod_bench");

  if (options.build ?? true) {
    console.log("building bundles (scripts/build-function.mjs) and the Prisma client…");
    for (const fn of ["auth", "catalog"]) {
      execFileSync(process.execPath, [join(root, "scripts/build-function.mjs")], {
        cwd: join(root, "functions", fn),
        stdio: ["ignore", "ignore", "inherit"],
      });
    }
    prismaGenerate();
  }

  const database = createDb(databaseUrl);
  await database.migrate();
  const password = "the right password";
  const [user] = await database.db
    .insert(users)
    .values({
      email: "bench@example.com",
      name: "Bench",
      passwordHash: hashSync(password, { cost: 12 }),
    })
    .returning();
  await database.db.insert(serviceCatalog).values(
    Array.from({ length: 8 }, (_, i) => ({
      slug: `app-${i}`,
      name: `App ${i}`,
      description: "An app to benchmark the catalog with.",
      image: "example/app",
      imageTag: "1",
      port: 8080,
      cpu: "250m",
      memory: "256Mi",
      storage: "1Gi",
      storageMountPath: "/data",
      priceMinor: 300 + i,
      currency: "EUR",
    })),
  );
  await database.close();

  const key = await generateSigningKey();
  const pems = await exportKeyPem(key);
  const token = await createTokenSigner(key, {
    issuer: "minispod",
    audience: "minispod-api",
  }).sign({ userId: user!.id, role: "CUSTOMER", email: user!.email }, 3600);
  const bearer = { authorization: `Bearer ${token}` };

  const fnEnv = {
    NODE_ENV: "production",
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `bench:${process.pid}:`,
    JWT_PRIVATE_KEY: pems.privatePem,
    JWT_PUBLIC_KEY: pems.publicPem,
    // High enough never to answer 429 here, but the check still runs on every request.
    API_RATE_LIMIT_PER_TOKEN: "1000000",
    AUTH_RATE_LIMIT_LOGIN: "1000000",
    BCRYPT_COST: "12",
  };
  const baseEnv = { DATABASE_URL: databaseUrl, JWT_PUBLIC_KEY: pems.publicPem };

  return { databaseUrl, password, bearer, fnEnv, baseEnv };
}

export async function run(args: string[] = []) {
  pinSelf();
  console.log(`machine: ${machineLine()}`);
  const { password, bearer, fnEnv, baseEnv } = await prepare();
  const servers: Server[] = [];
  const start = async (...a: Parameters<typeof startServer>) => {
    const s = await startServer(...a);
    servers.push(s);
    return s;
  };
  try {
    const auth = await start("auth", [bundle("auth")], fnEnv);
    const catalog = await start("catalog", [bundle("catalog")], fnEnv);
    const bare = await start("bare", [join(baselines, "bare-http.mjs")], {});
    const barePg = await start("bare-pg", [join(baselines, "bare-pg.mjs")], baseEnv);
    const express = await start("express", [join(baselines, "express-prisma.mjs")], baseEnv);

    const rows: Row[] = [
      row("/health/liveness", auth, bare, "bare node:http, same JSON"),
      row("/api/v1/auth/me", auth, barePg, "node:http + jose + postgres.js"),
      row("/api/v1/auth/me", auth, express, "Express 4 + Prisma 7 (pg)"),
      row("/api/v1/services", catalog, barePg, "node:http + postgres.js"),
    ];
    const headersFor = (path: string) => (path.endsWith("/me") ? bearer : {});
    console.log(`warming up; then ${ROUNDS} rounds of ${SECONDS} s per side, alternating`);
    for (const r of rows) {
      for (const s of [r.ours, r.base])
        await load(`${s.url}${r.path}`, { seconds: 2, headers: headersFor(r.path) });
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of rows) {
        const headers = headersFor(r.path);
        const measure = (s: Server) => load(`${s.url}${r.path}`, { seconds: SECONDS, headers });
        const sides = [
          async () => r.oursResults.push(await measure(r.ours)),
          async () => r.baseResults.push(await measure(r.base)),
        ];
        if (round % 2 === 1) sides.reverse();
        for (const side of sides) await side();
      }
      const ratios = rows.map((r) =>
        (r.oursResults.at(-1)!.rps / r.baseResults.at(-1)!.rps).toFixed(2),
      );
      process.stdout.write(`  round ${round + 1}/${ROUNDS} done; ratios ${ratios.join(" ")}\n`);
    }

    // Login: bcrypt verify at cost 12 dominates; compare with the machine's raw rate on the same core.
    const loginBody = JSON.stringify({ email: "bench@example.com", password });
    const loginRates: number[] = [];
    const bcryptRates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const l = await load(`${auth.url}/api/v1/auth/login`, {
        // bcrypt at cost 12 manages a few per second: long enough to count several.
        seconds: Math.max(SECONDS, 10),
        connections: 2,
        method: "POST",
        body: loginBody,
        headers: { "content-type": "application/json" },
      });
      if (l.non2xx > 0) console.log(`  login: ${l.non2xx} non-2xx answers`);
      loginRates.push(l.rps);
      bcryptRates.push(bcryptRate(Math.max(SECONDS, 10)));
    }

    // Cold start and idle RSS: fresh processes, alternating. The image starts
    // with a compile cache filled at build time (Dockerfile); without it too.
    const compileCache = warmCompileCache(bundle("auth"));
    const cold = { ours: [] as number[], nocache: [] as number[], bare: [] as number[] };
    const idle = { ours: [] as number[], nocache: [] as number[], bare: [] as number[] };
    try {
      for (let i = 0; i < 5; i++) {
        for (const [side, file, env] of [
          ["ours", bundle("auth"), { ...fnEnv, NODE_COMPILE_CACHE: compileCache }],
          ["nocache", bundle("auth"), fnEnv],
          ["bare", join(baselines, "bare-http.mjs"), {}],
        ] as const) {
          const s = await startServer(`cold-${side}`, [file], env);
          await sleep(1500);
          const rss = s.rssMiB();
          await s.stop();
          cold[side].push(s.readyMs);
          idle[side].push(rss);
        }
      }
    } finally {
      rmSync(compileCache, { recursive: true, force: true });
    }

    // RSS after a sustained load on /me, each side.
    await load(`${auth.url}/api/v1/auth/me`, { seconds: RSS_LOAD_SECONDS, headers: bearer });
    const loadedOurs = auth.rssMiB();
    await load(`${barePg.url}/api/v1/auth/me`, { seconds: RSS_LOAD_SECONDS, headers: bearer });
    const loadedBare = barePg.rssMiB();

    for (const s of servers.splice(0)) await s.stop();

    // The local runner (`npm start`, every function in one process, PGlite) at 50 connections.
    const dataDir = mkdtempSync(join(tmpdir(), "minispod-bench-"));
    let local: LoadResult | undefined;
    try {
      const runner = await start(
        "npm start",
        [],
        { DATA_DIR: dataDir, LOCAL_CRON: "false" },
        {
          command: ["npm", "start", "--silent"],
        },
      );
      await load(`${runner.url}/api/v1/services`, { seconds: 2 });
      local = await load(`${runner.url}/api/v1/services`, {
        seconds: SECONDS * 2,
        connections: 50,
      });
      for (const s of servers.splice(0)) await s.stop();
    } catch (error) {
      console.log(`npm start: ${(error as Error).message.split("\n").slice(0, 6).join("\n")}`);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }

    printTable(rows, {
      login: [median(loginRates), median(bcryptRates)],
      cold: [median(cold.ours), median(cold.bare)],
      coldNoCache: median(cold.nocache),
      idle: [median(idle.ours), median(idle.bare)],
      loaded: [loadedOurs, loadedBare],
      local,
    });
    console.log(`machine after the run: ${machineLine()}`);

    if (args.includes("--profile")) {
      await profileUnderLoad({
        bundle: bundle("auth"),
        env: fnEnv,
        url: "/api/v1/auth/me",
        headers: bearer,
        seconds: Math.max(SECONDS, 10),
      });
    }
  } finally {
    for (const s of servers) await s.stop();
  }
}

function row(path: string, ours: Server, base: Server, baseLabel: string): Row {
  return { label: `GET ${path}`, path, ours, base, baseLabel, oursResults: [], baseResults: [] };
}

/** Verifies at cost 12 on the server core for `seconds`; returns verifies per second. */
function bcryptRate(seconds: number): number {
  const code = `
    const { hashSync, verifySync } = require("@node-rs/bcrypt");
    const h = hashSync("the right password", { cost: 12 });
    const end = Date.now() + ${seconds * 1000}; let n = 0; const t0 = Date.now();
    while (Date.now() < end) { verifySync("the right password", h); n++; }
    console.log(n / ((Date.now() - t0) / 1000));`;
  const out = execFileSync("taskset", ["-c", String(SERVER_CORE), process.execPath, "-e", code], {
    cwd: root,
    encoding: "utf8",
  });
  return Number(out.trim());
}

function prismaGenerate() {
  // Offline: the schema engine is not needed to generate a client, so a no-op stands in.
  execFileSync(
    process.execPath,
    [
      join(root, "node_modules/prisma/build/index.js"),
      "generate",
      "--schema",
      join(baselines, "prisma/schema.prisma"),
    ],
    {
      cwd: join(root, "scripts"),
      stdio: ["ignore", "ignore", "inherit"],
      env: {
        ...process.env,
        PRISMA_SCHEMA_ENGINE_BINARY: "/bin/true",
        PRISMA_HIDE_UPDATE_MESSAGE: "1",
        CHECKPOINT_DISABLE: "1",
      },
    },
  );
}

async function freshDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

function printTable(
  rows: Row[],
  extra: {
    login: [number, number];
    cold: [number, number];
    coldNoCache: number;
    idle: [number, number];
    loaded: [number, number];
    local: LoadResult | undefined;
  },
) {
  const n = (x: number, digits = 0) =>
    x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const lines: string[][] = [
    ["path", "minispod req/s", "p50", "p99", "baseline", "req/s", "p50", "p99", "ratio"],
  ];
  for (const r of rows) {
    const ratios = r.oursResults.map((o, i) => o.rps / r.baseResults[i]!.rps);
    const m = (xs: LoadResult[], k: keyof LoadResult) => median(xs.map((x) => x[k]));
    const bad = [...r.oursResults, ...r.baseResults].reduce(
      (sum, x) => sum + x.errors + x.non2xx + x.timeouts,
      0,
    );
    lines.push([
      r.label,
      n(m(r.oursResults, "rps")),
      `${m(r.oursResults, "p50")} ms`,
      `${m(r.oursResults, "p99")} ms`,
      r.baseLabel,
      n(m(r.baseResults, "rps")),
      `${m(r.baseResults, "p50")} ms`,
      `${m(r.baseResults, "p99")} ms`,
      `${n(median(ratios), 2)}${bad > 0 ? ` (${bad} errors!)` : ""}`,
    ]);
  }
  const [loginRate, bcrypt] = extra.login;
  // A figure without latencies: ours, the baseline's, their ratio.
  const single = (label: string, ours: string, baseLabel: string, base: string, ratio: string) =>
    lines.push([label, ours, "", "", baseLabel, base, "", "", ratio]);
  single(
    "login at cost 12",
    `${n(loginRate, 2)}/s`,
    "bcrypt verify rate, same core",
    `${n(bcrypt, 2)}/s`,
    n(loginRate / bcrypt, 2),
  );
  const bareMs = `${n(extra.cold[1])} ms`;
  single(
    "cold start (image: compile cache)",
    `${n(extra.cold[0])} ms`,
    "bare node:http",
    bareMs,
    `${n(extra.cold[0] / extra.cold[1], 1)}x`,
  );
  single(
    "cold start, no compile cache",
    `${n(extra.coldNoCache)} ms`,
    "bare node:http",
    bareMs,
    `${n(extra.coldNoCache / extra.cold[1], 1)}x`,
  );
  single(
    "idle RSS",
    `${n(extra.idle[0])} MiB`,
    "bare node:http",
    `${n(extra.idle[1])} MiB`,
    `${n(extra.idle[0] / extra.idle[1], 2)}x`,
  );
  single(
    `RSS after ${RSS_LOAD_SECONDS} s of /me`,
    `${n(extra.loaded[0])} MiB`,
    "node:http + jose + postgres.js",
    `${n(extra.loaded[1])} MiB`,
    `${n(extra.loaded[0] / extra.loaded[1], 2)}x`,
  );
  if (extra.local) {
    const l = extra.local;
    lines.push([
      "npm start: /services, 50 conns",
      n(l.rps),
      `${l.p50} ms`,
      `${l.p99} ms`,
      "timeouts / errors / non-2xx",
      `${l.timeouts} / ${l.errors} / ${l.non2xx}`,
      "",
      "",
      "",
    ]);
  }
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? "").length)));
  console.log(
    `\nmedians of ${ROUNDS} alternating rounds, ${SECONDS} s each (ratio = median of per-round ratios)`,
  );
  for (const [i, l] of lines.entries()) {
    console.log(`| ${l.map((c, j) => c.padEnd(widths[j]!)).join(" | ")} |`);
    if (i === 0) console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  }
}
