import { resolve } from "node:path";
import { createDb, type Database, redactUrl } from "@minispod/db";
import {
  type AppEnv,
  createFunctionApp,
  createLogger,
  createMetrics,
  type Logger,
  networkReason,
  parseEnv,
  readCloudEvent,
  StartupError,
  withDeadline,
} from "@minispod/shared";
import type { Context, Hono } from "hono";
import { type Broker, createBroker, type Deliver } from "./broker";
import { type BrokerEnv, brokerEnvSchema, subscriberUrls } from "./env";
import { loadManifests } from "./manifests";
import { brokerMetrics } from "./metrics";
import type { Clock } from "./schedule";

export interface BrokerService {
  env: BrokerEnv;
  app: Hono<AppEnv>;
  broker: Broker;
  logger: Logger;
  /** Base URL of every Knative Service the manifests name. */
  urls: Map<string, string>;
  /** Delivers what the queue holds and what arrives; fires the PingSources unless BROKER_PING_SCHEDULES=false. */
  start(): Promise<void>;
  /** Stops schedules and deliveries (the current round finishes), then closes the pool. */
  close(): Promise<void>;
}

/**
 * The Knative Broker for containers (compose): the same broker as the local
 * runner's, behind HTTP. CloudEvents in binary or structured mode are accepted
 * at `POST /` (or Knative's `/<namespace>/<broker>` path) once durable, and
 * delivered with `fetch` to each matching Trigger's subscriber URL.
 *
 * @example
 * const service = await createBrokerService(process.env);
 * await service.start();
 * serve({ fetch: service.app.fetch, port: service.env.PORT });
 */
export async function createBrokerService(
  source: Record<string, string | undefined>,
  options: { clock?: Clock } = {},
): Promise<BrokerService> {
  const env = parseEnv(brokerEnvSchema, source);
  const logger = createLogger({ name: "broker", level: env.LOG_LEVEL });
  const manifests = loadManifests(resolve(env.BROKER_KNATIVE_DIR));
  const urls = subscriberUrls(manifests, env.BROKER_SUBSCRIBER_URL_TEMPLATE, source);
  const database = createDb(env.DATABASE_URL, {
    max: env.DATABASE_POOL_MAX,
    prepare: env.DATABASE_PREPARE,
    ...(env.MIGRATIONS_DEV_DIR ? { devMigrationsFolder: env.MIGRATIONS_DEV_DIR } : {}),
  });
  await reachDatabase(database, env.DATABASE_URL)
    .then(() => migrateQueue(database))
    .catch(async (error) => {
      await database.close().catch(() => undefined);
      throw error;
    });
  const metrics = createMetrics("broker");
  const broker = createBroker({
    manifests,
    logger,
    db: database.db,
    deliver: httpDeliver(urls, env.BROKER_DELIVERY_TIMEOUT_MS),
    // A delivery that outlives its lease would be claimed and sent a second time.
    leaseMs: env.BROKER_DELIVERY_TIMEOUT_MS + 30_000,
    metrics: brokerMetrics(metrics.registry, database.db),
    ...(env.BROKER_MAX_BACKOFF_MS > 0 ? { maxBackoffMs: env.BROKER_MAX_BACKOFF_MS } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });

  const app = createFunctionApp({
    name: "broker",
    logger,
    metrics,
    readiness: { database: database.ping },
    metricsEnabled: env.METRICS_ENABLED,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
  });
  const ingress = async (c: Context<AppEnv>) => {
    const event = await readCloudEvent(c.req.raw);
    // Durable before acknowledged, as Knative's ingress: the sender's outbox keeps the row until 2xx.
    await broker.publish(event);
    c.get("logger").debug({ eventId: event.id, eventType: event.type }, "event accepted");
    return c.body(null, 202);
  };
  app.post("/", ingress);
  app.post("/:namespace/:broker", ingress);

  logger.info(
    {
      database: redactUrl(env.DATABASE_URL),
      triggers: manifests.triggers.length,
      pingSources: manifests.pingSources.length,
      subscribers: Object.fromEntries(urls),
    },
    "broker configured",
  );
  return {
    env,
    app,
    broker,
    logger,
    urls,
    async start() {
      await broker.start();
      if (env.BROKER_PING_SCHEDULES) broker.startSchedules();
    },
    async close() {
      await broker.stop();
      await database.close();
    },
  };
}

/** Delivers with fetch to the subscriber's base URL plus the Trigger's path. */
function httpDeliver(urls: Map<string, string>, timeoutMs: number): Deliver {
  return async (destination, headers, body) => {
    const base = urls.get(destination.service);
    if (!base) throw new Error(`no URL for Knative Service ${destination.service}`);
    const response = await fetch(`${base}${destination.uri}`, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    // Only the status matters; reading the rest frees the connection for the next delivery.
    await response.arrayBuffer().catch(() => undefined);
    return response;
  };
}

/** The queue's table is the broker's own (the dev-only set): it creates it, never the migrate Job. */
async function migrateQueue(database: Database) {
  try {
    await database.migrateDev();
  } catch (error) {
    throw new StartupError(
      {
        variable: "DATABASE_URL",
        dependency: "PostgreSQL",
        tried: "the dev-only migrations (local_broker_deliveries)",
        problem: `could not apply them: ${error instanceof Error ? error.message : String(error)}`,
        fix: "run the migrate image first (the production set), then start the broker",
      },
      { cause: error },
    );
  }
}

async function reachDatabase(database: Database, url: string) {
  try {
    await withDeadline(database.ping(), 5000, "the database");
  } catch (error) {
    throw new StartupError(
      {
        variable: "DATABASE_URL",
        dependency: "PostgreSQL",
        tried: redactUrl(url),
        problem: `could not connect: ${networkReason(error)}`,
        fix: "start PostgreSQL and run the migrations (the migrate image); the broker then creates its queue",
      },
      { cause: error },
    );
  }
}
