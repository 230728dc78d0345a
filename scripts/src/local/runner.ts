import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { outboxEvents } from "@minispod/db";
import {
  API_VERSION,
  type AppEnv,
  AppError,
  baseEnvSchema,
  buildContext,
  checkConnections,
  createInfrastructure,
  createLogger,
  docsRoutes,
  EnvError,
  type FunctionContext,
  type FunctionDefinition,
  handleError,
  type Infrastructure,
  type Logger,
  mergeOpenApi,
  type OpenApiDocument,
  parseEnv,
  relayOutbox,
} from "@minispod/shared";
import { isNull } from "drizzle-orm";
import { Hono } from "hono";
import { type Broker, createBroker } from "../broker/broker";
import { loadManifests } from "../broker/manifests";
import { type AdminStatus, ensureAdmin } from "./admin";
import { clockRoutes, createLocalClock, type LocalClock } from "./clock";
import { type RunnerEnv, runnerEnvSchema } from "./env";
import { localSigningKeys } from "./keys";
import { mergeExpositions } from "./metrics";

export const defaultKnativeDir = fileURLToPath(new URL("../../../knative/base/", import.meta.url));

export interface HostedFunction {
  definition: FunctionDefinition;
  ctx: FunctionContext;
  app: Hono<AppEnv>;
  /** Local-only tools, mounted at `/_dev/<name>`. */
  devApp?: Hono<AppEnv>;
}

export interface LocalRunner {
  app: Hono;
  env: RunnerEnv;
  broker: Broker;
  /** Local mode's "now" for every hosted function, moved by `POST /_dev/clock`. */
  clock: LocalClock;
  infra: Infrastructure;
  hosted: Map<string, HostedFunction>;
  admin: AdminStatus;
  /** K_SINK/BROKER_URL names a real broker; the in-process one then stays idle. */
  externalBroker: boolean;
  seeded: string[];
  /** GET pages of the local-only tools, e.g. `/_dev/notifier/mailbox`. */
  devTools: string[];
  dataDir: string;
  databaseUrl: string;
  /** Waits for background event work (after-commit sends, broker deliveries) to settle. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Hosts every function in one process on the embedded defaults of local mode:
 * PGlite unless DATABASE_URL, memory cache unless REDIS_URL, an in-process
 * broker that routes by knative/'s Triggers and fires its PingSources.
 */
export async function createLocalRunner(options: {
  source: Record<string, string | undefined>;
  functions: FunctionDefinition[];
  knativeDir?: string;
}): Promise<LocalRunner> {
  const env = parseEnv(runnerEnvSchema, options.source);
  const logger = createLogger({ name: "local", level: env.LOG_LEVEL });
  const dataDir = resolve(env.DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const keys = await localSigningKeys(dataDir, env.JWT_PRIVATE_KEY);

  const databaseUrl = options.source.DATABASE_URL || `pglite://${join(dataDir, "pglite")}`;
  // Local defaults first; anything the developer exported wins, except the key pair,
  // which must be one pair for signer and verifiers.
  const source: Record<string, string | undefined> = {
    NODE_ENV: "development",
    APP_URL: `http://localhost:${env.PORT}`,
    DEV_MAILBOX_DIR: join(dataDir, "mailbox"),
    ...options.source,
    DATABASE_URL: databaseUrl,
    JWT_PRIVATE_KEY: keys.privatePem,
    JWT_PUBLIC_KEY: keys.publicPem,
    JWT_JWKS_URL: undefined,
    PORT: String(env.PORT),
  };

  const hosted = new Map<string, HostedFunction>();
  const manifests = loadManifests(options.knativeDir ?? defaultKnativeDir);

  const baseEnv = parseEnv(baseEnvSchema, source);
  // The broker keeps its queue in the database the infrastructure connects to.
  const lateBroker: { current?: Broker } = {};
  const infra = await createInfrastructure(baseEnv, logger, {
    publisher: {
      publish: (event) => {
        if (!lateBroker.current) throw new Error("the local broker is not ready yet");
        return lateBroker.current.publish(event);
      },
    },
  });
  const clock = createLocalClock();
  const broker = createBroker({
    manifests,
    logger,
    db: infra.database.db,
    // Local runs should not wait minutes between retries.
    maxBackoffMs: 30_000,
    clock: { now: () => clock.now().getTime() },
    deliver: async (destination, headers, body) =>
      hosted
        .get(destination.service)
        ?.app.request(destination.uri, { method: "POST", headers, body }),
  });
  lateBroker.current = broker;
  const externalBroker = Boolean(baseEnv.K_SINK ?? baseEnv.BROKER_URL);
  try {
    await checkConnections(infra, baseEnv);
    await infra.database.migrate();
    await infra.database.migrateDev();
    const problems: string[] = [];
    for (const definition of options.functions) {
      try {
        const fnEnv = parseEnv(definition.envSchema as never, source) as typeof baseEnv;
        const fnLogger = createLogger({ name: definition.name, level: env.LOG_LEVEL });
        const ctx = buildContext(definition, fnEnv, infra, fnLogger);
        // One moveable "now" for every function (`/_dev/clock`).
        ctx.now = clock.now;
        const app = await definition.create(ctx);
        const devApp = definition.devRoutes?.(ctx);
        hosted.set(definition.name, { definition, ctx, app, ...(devApp ? { devApp } : {}) });
      } catch (error) {
        if (!(error instanceof EnvError)) throw error;
        problems.push(...error.problems.map((p) => `${definition.name}: ${p}`));
      }
    }
    if (problems.length > 0) throw new EnvError(problems);
  } catch (error) {
    await infra.close();
    throw error;
  }

  const seeded: string[] = [];
  for (const { definition, ctx } of hosted.values()) {
    const note = await definition.seedLocal?.(ctx);
    if (note) seeded.push(`${definition.name}: ${note}`);
  }
  const admin = await ensureAdmin(infra.database.db, {
    email: env.ADMIN_EMAIL,
    password: env.ADMIN_PASSWORD,
    bcryptCost: env.BCRYPT_COST,
  });
  if (admin.ignoredPassword) {
    logger.warn(
      { email: admin.email },
      "ADMIN_PASSWORD not applied: the admin already exists (npm run admin -- reset-password changes it)",
    );
  }

  const app = buildRootApp(hosted);
  const devTools = [...hosted.values()].flatMap(({ definition, devApp }) =>
    (devApp?.routes ?? [])
      .filter((r) => r.method === "GET" && !r.path.includes(":") && !r.path.includes("*"))
      .map((r) => `/_dev/${definition.name}${r.path === "/" ? "" : r.path}`),
  );
  if (!externalBroker) {
    await broker.start();
  }
  const recovering = externalBroker ? Promise.resolve() : recoverOutbox(infra, broker, logger);
  if (env.LOCAL_CRON) broker.startSchedules();

  const settle = async () => {
    await recovering;
    // A delivery can commit new outbox rows and kick new sends; a few rounds drain the chain.
    for (let round = 0; round < 5; round++) {
      await Promise.all([...hosted.values()].map((h) => h.ctx.events.idle()));
      await broker.idle();
    }
  };

  app.route(
    "/_dev/clock",
    clockRoutes(clock, {
      fireAll: async () => {
        const fired: Record<string, number | undefined> = {};
        for (const ping of manifests.pingSources)
          fired[ping.name] = await broker.firePing(ping.name);
        return fired;
      },
      settle,
    }) as never,
  );
  devTools.push("/_dev/clock");
  // Last: every path no other route claims goes to the site (as the public host's PathPrefix(`/`)).
  const site = [...hosted.values()].find(({ definition }) => definition.routes.includes("/"));
  if (site) app.all("*", (c) => site.app.fetch(c.req.raw, c.env));

  return {
    app,
    env,
    clock,
    broker,
    infra,
    hosted,
    admin,
    externalBroker,
    seeded,
    devTools: [...new Set(devTools)],
    dataDir,
    databaseUrl,
    settle,
    async close() {
      await recovering;
      await broker.stop();
      await Promise.allSettled([...hosted.values()].map((h) => h.ctx.events.idle()));
      await Promise.allSettled([...hosted.values()].map((h) => h.ctx.closeAll()));
      await infra.close();
    },
  };
}

/**
 * Sends what a previous run committed but never handed to the broker (killed
 * between commit and send): right away rather than after the outbox lease and
 * the next relay sweep. Only this process sends from this database, so the
 * leases of a killed one are void.
 */
async function recoverOutbox(infra: Infrastructure, broker: Broker, logger: Logger) {
  const db = infra.database.db;
  try {
    await db
      .update(outboxEvents)
      .set({ nextAttemptAt: new Date() })
      .where(isNull(outboxEvents.publishedAt));
    let total = 0;
    for (;;) {
      const { published } = await relayOutbox({ db, publisher: broker, logger });
      total += published;
      if (published === 0) break;
    }
    if (total > 0) logger.info({ published: total }, "sent events left unsent by the last run");
  } catch (error) {
    logger.warn({ err: error }, "sending events left by the last run failed; the relay will retry");
  }
}

function buildRootApp(hosted: Map<string, HostedFunction>): Hono {
  const root = new Hono();
  // A function that declares "/" (the portal) serves the site; the index of functions moves to /_fn.
  const site = [...hosted.values()].find(({ definition }) => definition.routes.includes("/"));
  root.get(site ? "/_fn" : "/", (c) =>
    c.json({
      name: "minispod (local mode)",
      functions: [...hosted.values()].map(({ definition }) => ({
        name: definition.name,
        routes: definition.routes,
        health: `/_fn/${definition.name}/health/readiness`,
        ...(definition.devRoutes ? { devTools: `/_dev/${definition.name}/` } : {}),
      })),
    }),
  );
  root.get("/openapi.json", async (c) => {
    const documents = await Promise.all(
      [...hosted.values()].map(async ({ app }) => (await app.request("/openapi.json")).json()),
    );
    return c.json(
      mergeOpenApi(documents as OpenApiDocument[], {
        title: "minispod API",
        version: API_VERSION,
        description: "Every function's routes, merged by the local runner.",
      }),
    );
  });
  root.route("/", docsRoutes("/openapi.json", "minispod API"));
  root.get("/health/liveness", (c) => c.json({ status: "ok" }));
  root.get("/health/readiness", async (c) => {
    const reasons: Record<string, unknown> = {};
    const results = await Promise.all(
      [...hosted.values()].map(async ({ definition, app }) => {
        const res = await app.request("/health/readiness");
        if (!res.ok)
          reasons[definition.name] = ((await res.json()) as { reasons?: unknown }).reasons;
        return [definition.name, res.ok ? "ok" : "failing"] as const;
      }),
    );
    const ok = results.every(([, s]) => s === "ok");
    return c.json(
      {
        status: ok ? "ok" : "unavailable",
        functions: Object.fromEntries(results),
        ...(ok ? {} : { reasons }),
      },
      ok ? 200 : 503,
    );
  });
  root.get("/metrics", async (c) => {
    const texts = await Promise.all(
      [...hosted.values()].map((h) => h.ctx.metrics.registry.metrics()),
    );
    c.header("content-type", "text/plain; version=0.0.4; charset=utf-8");
    return c.body(mergeExpositions(texts));
  });

  for (const { definition, app, devApp } of hosted.values()) {
    // Direct access to one function: its health, metrics, /events and /cron (local only).
    const prefix = `/_fn/${definition.name}`;
    root.all(`${prefix}/*`, (c) => {
      const url = new URL(c.req.url);
      url.pathname = url.pathname.slice(prefix.length) || "/";
      return app.fetch(new Request(url, c.req.raw), c.env);
    });
    if (devApp) root.route(`/_dev/${definition.name}`, devApp as never);
    for (const route of definition.routes) {
      if (route === "/") continue;
      const forward = (c: { req: { raw: Request }; env: unknown }) => app.fetch(c.req.raw, c.env);
      root.all(route, forward);
      root.all(`${route}/*`, forward);
    }
  }
  root.notFound((c) =>
    handleError(
      new AppError("NOT_FOUND", { detail: `No route for ${c.req.method} ${c.req.path}.` }),
      c,
    ),
  );
  return root;
}
