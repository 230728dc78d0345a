import { createLogger, exitOnStartupFailure, type Logger, serveApp } from "@minispod/shared";
import { functions } from "./functions";
import { createLocalRunner, type LocalRunner } from "./runner";

/** `npm start`: every function on one port, on the embedded defaults. */
async function main() {
  let runner: LocalRunner | undefined;
  let logger: Logger | undefined;
  try {
    runner = await createLocalRunner({ source: process.env, functions });
    logger = createLogger({ name: "local", level: runner.env.LOG_LEVEL });
    const r = runner;
    await serveApp(r.app.fetch as never, {
      port: r.env.PORT,
      hostname: r.env.HOST,
      logger,
      onShutdown: () => r.close(),
    });
  } catch (error) {
    await runner?.close().catch(() => undefined);
    exitOnStartupFailure("minispod", error, logger);
  }
  // Only now: the banner promises a server that is listening.
  console.log(banner(runner));
}

function banner(runner: LocalRunner): string {
  const { env, admin } = runner;
  const base = `http://localhost:${env.PORT}`;
  const reset = "npm run admin -- reset-password";
  const adminLine = admin.password
    ? `${admin.email} / ${admin.password}   (generated; shown once — lost it? ${reset})`
    : admin.created
      ? `${admin.email} (created from ADMIN_PASSWORD)`
      : admin.ignoredPassword
        ? `${admin.email} (already exists: ADMIN_PASSWORD only sets the password of a new admin and was not applied; to change it: ADMIN_PASSWORD=… ${reset})`
        : `${admin.email} (already exists; forgot the password? ${reset})`;
  return [
    "",
    `minispod is running at ${base}  (local mode, ${runner.hosted.size} functions)`,
    `  database   ${runner.databaseUrl.startsWith("pglite://") ? `PGlite in ${runner.databaseUrl.slice(9)}` : "DATABASE_URL"}`,
    `  cache      ${runner.infra.redis ? "REDIS_URL" : "in memory"}`,
    `  events     ${runner.externalBroker ? "K_SINK/BROKER_URL" : "in-process broker (routes from knative/, queue in the database)"}`,
    ...(runner.hosted.has("portal") ? [`  portal     ${base}/  (the customer web app)`] : []),
    `  health     ${base}/health/readiness`,
    `  metrics    ${base}/metrics`,
    `  API docs   ${base}/docs  (OpenAPI 3.1 at ${base}/openapi.json)`,
    ...runner.devTools.map((path) => `  dev tools  ${base}${path}`),
    ...runner.seeded.map((s) => `  seeded     ${s}`),
    `  admin      ${adminLine}`,
    `  log in     curl -s ${base}/api/v1/auth/login -H 'content-type: application/json' -d '{"email":"${admin.email}","password":"…"}'`,
    "",
  ].join("\n");
}

await main();
