/**
 * Smoke checks of the built images (`scripts/deploy/images.sh --local` first),
 * run by .ci/run: the migrate command of an image migrates a fresh, empty
 * database; then every function's image starts under the Knative Services'
 * securityContext with its Service's env against that database and the local
 * Redis, and must answer /health/readiness 200; one container's /metrics
 * answers, and its /docs renders in headless Chromium without leaving the
 * origin. Prints a summary; exits 1 on any failure.
 *
 *   npm exec -- tsx scripts/src/deploy/smoke-images.ts [name ...]
 *
 * SMOKE_DATABASE_SERVER (default postgres://postgres@127.0.0.1:5432/postgres),
 * SMOKE_REDIS_URL (default redis://127.0.0.1:6379), REGISTRY/TAG as images.sh.
 */
import { existsSync, rmSync } from "node:fs";
import { chromium } from "playwright-core";
import postgres from "postgres";
import {
  type Container,
  containerEnv,
  freshDatabase,
  functionNames,
  imageOf,
  needsCluster,
  runReady,
  runToExit,
  testSecrets,
} from "./containers";

const server = process.env.SMOKE_DATABASE_SERVER ?? "postgres://postgres@127.0.0.1:5432/postgres";
const redisUrl = process.env.SMOKE_REDIS_URL ?? "redis://127.0.0.1:6379";
const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : functionNames;
const CHROMIUM = "/usr/bin/chromium";

const results: { check: string; ok: boolean; detail: string }[] = [];
const record = (check: string, ok: boolean, detail: string) => {
  results.push({ check, ok, detail });
  console.log(`${ok ? "ok  " : "FAIL"} ${check}: ${detail}`);
};

/** Renders `url` in Chromium; the number of operations shown and any off-origin request. */
async function renderDocs(url: string) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--headless"],
  });
  try {
    const page = await browser.newPage();
    const offOrigin: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(new URL(url).origin) && !r.url().startsWith("data:"))
        offOrigin.push(r.url());
    });
    await page.goto(url, { waitUntil: "load" });
    await page.locator(".opblock").first().waitFor({ state: "visible", timeout: 20_000 });
    return { operations: await page.locator(".opblock").count(), offOrigin };
  } finally {
    await browser.close();
  }
}

const database = await freshDatabase(server, `minispod_smoke_${process.pid}`);
const { secrets, kubeconfig, dir } = await testSecrets(database.url, redisUrl);
try {
  const migrate = await runToExit(imageOf("auth"), { DATABASE_URL: database.url }, [
    "node",
    "migrate.mjs",
  ]);
  const sql = postgres(database.url, { max: 1, onnotice: () => {} });
  const [tables] = await sql<{ n: number }[]>`
    select count(*)::int as n from information_schema.tables where table_schema = 'public'`;
  await sql.end();
  record(
    `migrate (${imageOf("auth")}, node migrate.mjs) on an empty database`,
    migrate.code === 0 && tables!.n > 5,
    `exit ${migrate.code}, ${tables!.n} tables; ${migrate.output.trim().split("\n").pop() ?? ""}`,
  );
  for (const name of names) {
    const image = imageOf(name);
    let container: Container | undefined;
    try {
      container = await runReady(image, containerEnv(name, secrets), {
        ...(needsCluster(name) ? { kubeconfig } : {}),
      });
      record(`${name} readiness`, true, `200 in ${container.readyMs!.toFixed(0)} ms (${image})`);
      if (name === "catalog") {
        const base = `http://127.0.0.1:${container.port}`;
        const metrics = await fetch(`${base}/metrics`);
        const text = await metrics.text();
        record(
          `${name} /metrics`,
          metrics.status === 200 && text.includes("# TYPE"),
          `${metrics.status}, ${text.split("\n").length} lines`,
        );
        if (existsSync(CHROMIUM)) {
          const docs = await renderDocs(`${base}/docs`);
          record(
            `${name} /docs in Chromium`,
            docs.operations > 0 && docs.offOrigin.length === 0,
            `${docs.operations} operations rendered, ${docs.offOrigin.length} off-origin requests`,
          );
        } else record(`${name} /docs in Chromium`, false, `${CHROMIUM} is missing`);
      }
    } catch (error) {
      record(`${name} readiness`, false, (error as Error).message.slice(0, 1500));
    } finally {
      container?.stop();
    }
  }
} finally {
  await database.drop();
  rmSync(dir, { recursive: true, force: true });
}
const failed = results.filter((r) => !r.ok);
console.log(
  `\nimage smoke checks: ${results.length - failed.length}/${results.length} passed (securityContext: read-only root fs, uid 1000, cap-drop ALL, no-new-privileges)`,
);
process.exit(failed.length > 0 ? 1 : 0);
