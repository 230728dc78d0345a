import { createDb, type Database, type Db, redactUrl } from "@minispod/db";
import type { Hono } from "hono";
import type { Redis } from "ioredis";
import type * as v from "valibot";
import { createFunctionApp } from "./app";
import type { AppEnv } from "./app-env";
import { type DurableStore, durableKeys } from "./durable-store";
import { type BaseEnv, EnvError } from "./env";
import { eventMetrics } from "./events/metrics";
import { type RelayResult, relayOutbox } from "./events/outbox";
import { type EventPublisher, httpPublisher, memoryPublisher } from "./events/publisher";
import { type TokenVerifier, verifierFromConfig } from "./jwt";
import { createLogger, type Logger } from "./logger";
import { createMetrics, type Metrics } from "./metrics";
import { withRevocation } from "./revocation";
import { DeadlineError, networkReason, StartupError, withDeadline } from "./startup";
import {
  createRedisClient,
  type KeyValueStore,
  memoryStore,
  type RateLimiter,
  redisRateLimiter,
  redisStore,
} from "./store";

/** Sends outbox rows right after a commit; outbox-relay catches whatever this misses. */
export interface EventSender {
  /** Sends due rows now and waits (tests, sweeps). */
  flush(ids?: string[]): Promise<RelayResult>;
  /** Sends in the background and never throws (request handlers, after commit). */
  kick(ids?: string[]): void;
  /** Resolves when every background send started so far has finished. */
  idle(): Promise<void>;
}

export function createEventSender(
  db: Db,
  publisher: EventPublisher,
  logger: Logger,
  /** Counts what this function publishes (`minispod_events_published_total`). */
  metrics?: Metrics,
): EventSender {
  const pending = new Set<Promise<unknown>>();
  if (metrics) eventMetrics(metrics);
  const flush = (ids?: string[]) =>
    relayOutbox({ db, publisher, logger, metrics, ...(ids ? { ids } : {}) });
  return {
    flush,
    kick(ids) {
      const p = flush(ids)
        .catch((error) => logger.warn({ err: error }, "outbox send failed; the relay will retry"))
        .finally(() => pending.delete(p));
      pending.add(p);
    },
    async idle() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}

/** Infrastructure a function is built from; shared across functions in local mode. */
export interface Infrastructure {
  database: Database;
  store: KeyValueStore;
  limiter: RateLimiter;
  publisher: EventPublisher;
  verifier: TokenVerifier;
  redis?: Redis;
  close(): Promise<void>;
}

/** What `createApp` of any function receives, besides its own settings. */
export interface FunctionContext<E extends BaseEnv = BaseEnv> {
  name: string;
  env: E;
  logger: Logger;
  metrics: Metrics;
  db: Db;
  database: Database;
  store: KeyValueStore;
  limiter: RateLimiter;
  publisher: EventPublisher;
  events: EventSender;
  verifier: TokenVerifier;
  /** Readiness checks for the app factory. */
  readiness: Record<string, () => Promise<void>>;
  now: () => Date;
  /**
   * Registers cleanup (an SMTP pool, a client) run at shutdown after in-flight
   * requests finish, before the database and Redis close.
   */
  onClose(close: () => Promise<void> | void): void;
  /** Runs what `onClose` registered, newest first; errors are logged, not thrown. */
  closeAll(): Promise<void>;
}

/** The onClose/closeAll pair of a context. */
export function closeRegistry(logger: Logger) {
  const closers: (() => Promise<void> | void)[] = [];
  return {
    onClose(close: () => Promise<void> | void) {
      closers.push(close);
    },
    async closeAll() {
      for (const close of closers.splice(0).reverse()) {
        try {
          await close();
        } catch (error) {
          logger.warn({ err: error }, "cleanup at shutdown failed");
        }
      }
    },
  };
}

export type EnvSchema<E> = v.GenericSchema<Record<string, string>, E> & {
  entries: Record<string, v.GenericSchema>;
};

/**
 * One function: its name, the public path prefixes it serves, its env schema
 * and how to build its app. `main.ts` of a function is `runStandalone(definition)`;
 * the local runner hosts every definition in one process.
 */
export interface FunctionDefinition<E extends BaseEnv = BaseEnv> {
  name: string;
  routes: string[];
  envSchema: EnvSchema<E>;
  create(ctx: FunctionContext<E>): Promise<Hono<AppEnv>> | Hono<AppEnv>;
  /**
   * Local-mode-only routes (dev mailbox, sandbox tools). The local runner mounts
   * them under `/_dev/<name>`; they are never deployed.
   */
  devRoutes?(ctx: FunctionContext<E>): Hono<AppEnv>;
  /** Local mode only: seed demo data on start (idempotent). */
  seedLocal?(ctx: FunctionContext<E>): Promise<string | undefined>;
}

/** Connects to what the environment names: PostgreSQL/PGlite, Redis or memory, broker or nowhere. */
export async function createInfrastructure(
  env: BaseEnv,
  logger: Logger,
  overrides: { publisher?: EventPublisher } = {},
): Promise<Infrastructure> {
  const database = createDb(env.DATABASE_URL, {
    max: env.DATABASE_POOL_MAX,
    prepare: env.DATABASE_PREPARE,
  });
  let redis: Redis | undefined;
  let store: KeyValueStore;
  let limiter: RateLimiter;
  let durable: DurableStore | undefined;
  if (env.REDIS_URL) {
    redis = createRedisClient(env.REDIS_URL, env.REDIS_KEY_PREFIX);
    outages.set(redis, watchRedis(redis, logger));
    store = redisStore(redis);
    limiter = redisRateLimiter(redis);
  } else {
    const memory = memoryStore();
    store = memory;
    limiter = memory;
    if (database.kind === "pglite") {
      // Local mode: revocation marks outlive a restart, kept in the embedded
      // database beside the memory copy (the dev-only table local_store_entries).
      durable = durableKeys(memory, database.db, {
        onWriteError: (error, key) =>
          logger.error({ err: error, key }, "could not keep a revocation mark in the database"),
      });
      store = durable;
    }
  }
  const sink = env.K_SINK ?? env.BROKER_URL;
  const publisher = sink ? httpPublisher(sink) : (overrides.publisher ?? memoryPublisher());
  if (!sink && !overrides.publisher)
    logger.warn("no K_SINK or BROKER_URL: events stay in the outbox");
  if (!env.JWT_PUBLIC_KEY && !env.JWT_JWKS_URL) {
    throw new EnvError([
      "JWT_PUBLIC_KEY is required (the SPKI PEM of auth's signing key), or set JWT_JWKS_URL",
    ]);
  }
  const signatureVerifier = await verifierFromConfig({
    publicKeyPem: env.JWT_PUBLIC_KEY,
    previousPublicKeyPem: env.JWT_PREVIOUS_PUBLIC_KEY,
    jwksUrl: env.JWT_JWKS_URL,
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
  });
  const verifier = withRevocation(signatureVerifier, store, (error) =>
    logger.warn({ err: error }, "token revocation check skipped: cache unreachable"),
  );
  logger.info(
    {
      database: redactUrl(env.DATABASE_URL),
      redis: env.REDIS_URL ? redactUrl(env.REDIS_URL) : "memory",
      sink: sink ?? (overrides.publisher ? "local broker" : "none"),
    },
    "infrastructure configured",
  );
  return {
    database,
    store,
    limiter,
    publisher,
    verifier,
    ...(redis ? { redis } : {}),
    async close() {
      await durable?.settle();
      await database.close();
      if (redis) {
        // quit() waits for a connection that may never come; an unreachable Redis is just dropped.
        if (redis.status === "ready") await redis.quit();
        else redis.disconnect();
      }
    },
  };
}

/**
 * ioredis reports every failed reconnect as an "error" event (and prints
 * `[ioredis] Unhandled error event` to stderr when nobody listens). One
 * warning per outage goes to the log instead, once start-up has passed.
 */
/**
 * Start-up check: reaches the database and Redis once, each within
 * STARTUP_CONNECT_TIMEOUT, or throws a StartupError naming the variable (and
 * saying which one gave no answer). After it passes, a Redis outage is logged
 * once (not per reconnect) and shows as readiness 503 until Redis is back.
 */
export async function checkConnections(
  infra: Infrastructure,
  env: Pick<BaseEnv, "DATABASE_URL" | "REDIS_URL"> &
    Partial<Pick<BaseEnv, "STARTUP_CONNECT_TIMEOUT">>,
  timeoutMs = (env.STARTUP_CONNECT_TIMEOUT ?? 30) * 1000,
): Promise<void> {
  const embedded = env.DATABASE_URL.startsWith("pglite://");
  try {
    await withDeadline(
      infra.database.ping(),
      timeoutMs,
      embedded ? "the embedded database (PGlite)" : "the database",
    );
  } catch (error) {
    const slow = error instanceof DeadlineError;
    throw new StartupError(
      {
        variable: "DATABASE_URL",
        dependency: embedded ? "PGlite" : "PostgreSQL",
        tried: redactUrl(env.DATABASE_URL),
        problem: `could not connect: ${networkReason(error)}`,
        fix: slow
          ? "if it is only slow (a loaded machine, a first start), raise STARTUP_CONNECT_TIMEOUT; otherwise check that the server at DATABASE_URL answers"
          : embedded
            ? "check that DATA_DIR is writable and not used by another running minispod"
            : "start PostgreSQL, or point DATABASE_URL at a running server (user, password and database must exist)",
      },
      { cause: error },
    );
  }
  const { redis } = infra;
  if (!redis || !env.REDIS_URL) return;
  const outage = outages.get(redis);
  try {
    await withDeadline(firstConnection(redis), timeoutMs, "Redis");
    await withDeadline(redis.ping(), timeoutMs, "Redis");
  } catch (error) {
    throw new StartupError(
      {
        variable: "REDIS_URL",
        dependency: "Redis",
        tried: redactUrl(env.REDIS_URL),
        problem: `could not connect: ${networkReason(outage?.lastError ?? error)}`,
        fix: "start Redis, point REDIS_URL at a running one, or unset it (local mode keeps the cache in memory)",
      },
      { cause: error },
    );
  }
  if (outage) outage.announce = true;
}

/** Settles on the first connect or the first failure: a refused connection fails at once, not after retries. */
function firstConnection(redis: Redis): Promise<void> {
  if (redis.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = () => {
      redis.off("error", onError);
      resolve();
    };
    const onError = (error: unknown) => {
      redis.off("ready", onReady);
      reject(error);
    };
    redis.once("ready", onReady);
    redis.once("error", onError);
  });
}

const outages = new WeakMap<Redis, RedisOutage>();

interface RedisOutage {
  /** Off until start-up has passed: a Redis missing at start is a StartupError instead. */
  announce: boolean;
  down: boolean;
  lastError?: unknown;
}

function watchRedis(redis: Redis, logger: Logger): RedisOutage {
  const state: RedisOutage = { announce: false, down: false };
  redis.on("error", (error) => {
    state.lastError = error;
    if (state.down || !state.announce) return;
    state.down = true;
    logger.warn(
      { dependency: "Redis", variable: "REDIS_URL", reason: networkReason(error) },
      "Redis unreachable; reconnecting in the background, readiness answers 503 until it is back",
    );
  });
  redis.on("ready", () => {
    if (!state.down) return;
    state.down = false;
    logger.info({ dependency: "Redis" }, "Redis reachable again");
  });
  return state;
}

export function buildContext<E extends BaseEnv>(
  definition: FunctionDefinition<E>,
  env: E,
  infra: Infrastructure,
  logger: Logger = createLogger({ name: definition.name, level: env.LOG_LEVEL }),
): FunctionContext<E> {
  const readiness: Record<string, () => Promise<void>> = { database: infra.database.ping };
  readiness.cache = infra.store.ping;
  const metrics = createMetrics(definition.name);
  return {
    name: definition.name,
    env,
    logger,
    metrics,
    db: infra.database.db,
    database: infra.database,
    store: infra.store,
    limiter: infra.limiter,
    publisher: infra.publisher,
    events: createEventSender(infra.database.db, infra.publisher, logger, metrics),
    verifier: infra.verifier,
    readiness,
    now: () => new Date(),
    ...closeRegistry(logger),
  };
}

/**
 * The shared app factory configured from a function's context: what every
 * function's `createApp` starts from.
 *
 * @example
 * const app = baseApp(deps);
 * app.route("/api/v1/services", serviceRoutes(deps));
 */
export function baseApp(ctx: FunctionContext) {
  return createFunctionApp({
    name: ctx.name,
    logger: ctx.logger,
    metrics: ctx.metrics,
    readiness: ctx.readiness,
    metricsEnabled: ctx.env.METRICS_ENABLED,
    bodyLimitBytes: ctx.env.BODY_LIMIT_BYTES,
    corsOrigins: ctx.env.CORS_ORIGINS,
    proxyTrust: { hops: ctx.env.TRUST_PROXY_HOPS, proxies: ctx.env.TRUSTED_PROXIES },
    tokenRateLimit: {
      limiter: ctx.limiter,
      perMinute: ctx.env.API_RATE_LIMIT_PER_TOKEN,
      verifier: ctx.verifier,
    },
  });
}
