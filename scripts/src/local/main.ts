import { createLogger, EnvError, serveApp } from "@minispod/shared";
import { functions } from "./functions";
import { createLocalRunner } from "./runner";

/** `npm start`: every function on one port, on the embedded defaults. */
async function main() {
  let runner: Awaited<ReturnType<typeof createLocalRunner>>;
  try {
    runner = await createLocalRunner({ source: process.env, functions });
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const { env } = runner;
  const logger = createLogger({ name: "local", level: env.LOG_LEVEL });
  serveApp(runner.app.fetch as never, {
    port: env.PORT,
    hostname: env.HOST,
    logger,
    onShutdown: () => runner.close(),
  });
  const base = `http://localhost:${env.PORT}`;
  const lines = [
    "",
    `minispod is running at ${base}  (local mode, ${runner.hosted.size} functions)`,
    `  database   ${runner.databaseUrl.startsWith("pglite://") ? `PGlite in ${runner.databaseUrl.slice(9)}` : "DATABASE_URL"}`,
    `  cache      ${process.env.REDIS_URL ? "REDIS_URL" : "in memory"}`,
    `  events     ${process.env.K_SINK || process.env.BROKER_URL ? "K_SINK/BROKER_URL" : "in-process broker (routes from knative/)"}`,
    `  health     ${base}/health/readiness`,
    `  metrics    ${base}/metrics`,
    `  API docs   ${base}/docs  (OpenAPI 3.1 at ${base}/openapi.json)`,
    ...runner.devTools.map((path) => `  dev tools  ${base}${path}`),
    ...runner.seeded.map((s) => `  seeded     ${s}`),
    runner.admin.password
      ? `  admin      ${runner.admin.email} / ${runner.admin.password}   (generated; shown once — set ADMIN_PASSWORD to choose it)`
      : `  admin      ${runner.admin.email} (${runner.admin.created ? "created from ADMIN_PASSWORD" : "already exists"})`,
    `  log in     curl -s ${base}/api/v1/auth/login -H 'content-type: application/json' -d '{"email":"${runner.admin.email}","password":"…"}'`,
    "",
  ];
  console.log(lines.join("\n"));
}

await main();
