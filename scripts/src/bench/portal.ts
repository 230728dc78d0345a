/**
 * The portal's budget (`npm run bench -- portal`): the JavaScript a browser
 * downloads, gzipped (at most 60 KB in total), and the server time of each
 * page's answer at p50 (under 20 ms), measured in-process on this machine.
 *
 * Uses PGlite in memory unless BENCH_DATABASE_URL names a PostgreSQL database
 * (the portal touches the database only for readiness).
 */
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { createDb } from "@minispod/db";
import { pages, portalFunction } from "@minispod/fn-portal";
import { exportKeyPem, generateSigningKey, parseEnv } from "@minispod/shared";
import { buildPortalClient } from "../../portal-client.mjs";
import { inProcessContext } from "./harness";
import { fmt, median } from "./stats";

const JS_BUDGET_BYTES = 60 * 1024;
const PAGE_BUDGET_MS = 20;

const portalDir = fileURLToPath(new URL("../../../functions/portal/", import.meta.url));

export async function run(_args: string[] = []) {
  const assets = await buildPortalClient(portalDir);
  let jsGzip = 0;
  let jsRaw = 0;
  console.log("\nportal: what the browser downloads (minified, gzip -9)");
  for (const [name, file] of Object.entries(assets.files)) {
    const gz = gzipSync(file.body, { level: 9 }).length;
    if (name.endsWith(".js")) {
      jsGzip += gz;
      jsRaw += file.body.length;
    }
    console.log(
      `  ${name.padEnd(28)} ${(file.body.length / 1024).toFixed(1).padStart(6)} KB  ${(gz / 1024).toFixed(1).padStart(5)} KB gzipped`,
    );
  }
  console.log(
    `  JS total                     ${(jsRaw / 1024).toFixed(1).padStart(6)} KB  ${(jsGzip / 1024).toFixed(1).padStart(5)} KB gzipped  (budget 60 KB: ${jsGzip <= JS_BUDGET_BYTES ? "ok" : "OVER"})`,
  );

  const url = process.env.BENCH_DATABASE_URL ?? "pglite://memory";
  const database = createDb(url);
  const keys = await exportKeyPem(await generateSigningKey());
  const env = parseEnv(portalFunction.envSchema as never, {
    DATABASE_URL: url,
    JWT_PUBLIC_KEY: keys.publicPem,
    LOG_LEVEL: "silent",
    METRICS_ENABLED: "true",
  }) as Parameters<typeof portalFunction.create>[0]["env"];
  const ctx = await inProcessContext(portalFunction, env, database);
  const app = await portalFunction.create(ctx);
  const paths = pages.map((p) =>
    p.path.replace(":slug", "nextcloud").replace(":id", "0b6f6f34-3c1e-4b8a-9d1e-8f1a2b3c4d5e"),
  );
  const rounds = Number(process.env.BENCH_ROUNDS ?? 300);
  const times: Record<string, number[]> = {};
  // Warm up (the first answer builds nothing here: the assets are cached), then interleave.
  for (const path of paths) await (await app.request(path)).text();
  for (let i = 0; i < rounds; i++) {
    for (const path of paths) {
      const started = performance.now();
      const res = await app.request(path);
      await res.text();
      const elapsed = performance.now() - started;
      times[path] = [...(times[path] ?? []), elapsed];
    }
  }
  console.log(`\nportal: page server time, p50 of ${rounds} interleaved rounds (in-process)`);
  for (const [path, xs] of Object.entries(times))
    console.log(`  ${path.padEnd(50)} ${fmt(median(xs))}`);
  const all = Object.values(times).flat();
  const p50 = median(all);
  console.log(
    `  every page                                         ${fmt(p50)}  (budget ${PAGE_BUDGET_MS} ms: ${p50 < PAGE_BUDGET_MS ? "ok" : "OVER"})`,
  );
  await ctx.closeAll();
  await database.close();
}
