import { randomBytes, randomUUID } from "node:crypto";
import {
  createDb,
  type Database,
  type Db,
  serviceCatalog,
  type UserRole,
  users,
} from "@minispod/db";
import { cloneDatabase } from "@minispod/db/testing";
import type { Hono } from "hono";
import { Redis } from "ioredis";
import { inject } from "vitest";
import type { AppEnv } from "../app-env";
import type { BaseEnv } from "../env";
import { parseEnv } from "../env";
import { type CloudEventMessage, memoryPublisher } from "../events/publisher";
import {
  createTokenSigner,
  exportKeyPem,
  generateSigningKey,
  type SigningKey,
  type TokenSigner,
} from "../jwt";
import { createLogger } from "../logger";
import { createMetrics } from "../metrics";
import { responseChecks } from "../openapi";
import { withRevocation } from "../revocation";
import { createEventSender, type FunctionContext, type FunctionDefinition } from "../runtime";
import { type KeyValueStore, type RateLimiter, redisRateLimiter, redisStore } from "../store";
import { TOKEN_SETTINGS } from "./tokens";

export { eventConsumerFunction } from "./consumer";
export {
  type RouteUnderTest,
  runRouteSecurityTests,
} from "./route-security";
export {
  expiredToken,
  foreignToken,
  hsConfusionToken,
  tamperedToken,
  unsignedToken,
} from "./tokens";

// Every answer of a described route is checked against its documented schema under test.
responseChecks.enabled = true;

declare module "vitest" {
  export interface ProvidedContext {
    databaseServerUrl: string;
    templateDatabase: string;
    redisUrl: string;
  }
}

/** bcrypt (cost 4) of TEST_PASSWORD, so tests can make users without paying for hashing. */
export const TEST_PASSWORD = "correct horse battery staple";
const TEST_PASSWORD_HASH = "$2b$04$YiVb6TqJ4EXpFf9c8LLTuO1lriy3srYI.VHs8puEv/.qD.8ucFvd2";

export interface TestUser {
  id: string;
  email: string;
  name: string;
  role: UserRole;
  token: string;
}

/**
 * Everything a test file needs against real services: its own PostgreSQL
 * database (cloned from the migrated template), a Redis key prefix of its own,
 * a signing key, a recording publisher, and helpers for users and tokens.
 *
 * @example
 * const h = await createHarness();
 * afterAll(() => h.close());
 * const app = await h.app(catalogFunction);
 * const alice = await h.user();
 * await app.request("/api/v1/services", { headers: h.bearer(alice) });
 */
export interface Harness {
  database: Database;
  databaseUrl: string;
  redis: Redis;
  redisUrl: string;
  /** This file's Redis key prefix; pass it as REDIS_KEY_PREFIX to anything connecting on its own. */
  redisPrefix: string;
  store: KeyValueStore;
  limiter: RateLimiter;
  signingKey: SigningKey;
  signer: TokenSigner;
  publicKeyPem: string;
  privateKeyPem: string;
  publisher: { events: CloudEventMessage[]; publish(e: CloudEventMessage): Promise<void> };
  /** Settable clock used by contexts built here. */
  clock: { now: Date };
  env<E extends BaseEnv>(definition: FunctionDefinition<E>, overrides?: Record<string, string>): E;
  context<E extends BaseEnv>(
    definition: FunctionDefinition<E>,
    overrides?: Record<string, string>,
  ): FunctionContext<E>;
  app<E extends BaseEnv>(
    definition: FunctionDefinition<E>,
    overrides?: Record<string, string>,
  ): Promise<Hono<AppEnv>>;
  user(options?: {
    role?: UserRole;
    email?: string;
    name?: string;
    disabled?: boolean;
  }): Promise<TestUser>;
  bearer(user: { token: string }): { authorization: string };
  close(): Promise<void>;
}

export async function createHarness(): Promise<Harness> {
  const cloned = await cloneDatabase(inject("databaseServerUrl"), inject("templateDatabase"));
  const database = createDb(cloned.url, { max: 5 });
  const redisUrl = inject("redisUrl");
  const prefix = `test:${randomBytes(6).toString("hex")}:`;
  const redis = new Redis(redisUrl, { keyPrefix: prefix, maxRetriesPerRequest: 2 });
  const signingKey = await generateSigningKey();
  const signer = createTokenSigner(signingKey, TOKEN_SETTINGS);
  const { privatePem, publicPem } = await exportKeyPem(signingKey);
  const publisher = memoryPublisher();
  const clock = { now: new Date() };
  const closers: (() => Promise<void> | void)[] = [];
  let realClock = true;
  const logger = createLogger({ name: "test", level: process.env.TEST_LOG_LEVEL ?? "silent" });

  const harness: Harness = {
    database,
    databaseUrl: cloned.url,
    redis,
    redisUrl,
    redisPrefix: prefix,
    store: redisStore(redis),
    limiter: redisRateLimiter(redis),
    signingKey,
    signer,
    publicKeyPem: publicPem,
    privateKeyPem: privatePem,
    publisher,
    clock: {
      get now() {
        return realClock ? new Date() : clock.now;
      },
      set now(value: Date) {
        realClock = false;
        clock.now = value;
      },
    },
    env(definition, overrides = {}) {
      return parseEnv(definition.envSchema as never, {
        NODE_ENV: "test",
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
        DATABASE_URL: cloned.url,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix,
        JWT_PUBLIC_KEY: publicPem,
        JWT_PRIVATE_KEY: privatePem,
        BCRYPT_COST: "4",
        ...overrides,
      });
    },
    context(definition, overrides) {
      const env = harness.env(definition, overrides);
      const fnLogger = logger.child({ fn: definition.name });
      const metrics = createMetrics(definition.name, { defaultMetrics: false });
      return {
        name: definition.name,
        env,
        logger: fnLogger,
        metrics,
        db: database.db,
        database,
        store: harness.store,
        limiter: harness.limiter,
        publisher,
        events: createEventSender(database.db, publisher, fnLogger, metrics),
        verifier: withRevocation(signer.verifier(), harness.store),
        readiness: { database: database.ping, cache: harness.store.ping },
        now: () => harness.clock.now,
        onClose: (close) => {
          closers.push(close);
        },
        closeAll: async () => {
          for (const close of closers.splice(0).reverse()) await close();
        },
      };
    },
    async app(definition, overrides) {
      return definition.create(harness.context(definition, overrides));
    },
    async user(options = {}) {
      const email = options.email ?? `user-${randomUUID().slice(0, 8)}@example.com`;
      const role = options.role ?? "CUSTOMER";
      const [row] = await database.db
        .insert(users)
        .values({
          email,
          name: options.name ?? "Test User",
          role,
          passwordHash: TEST_PASSWORD_HASH,
          emailVerifiedAt: new Date(),
          disabledAt: options.disabled ? new Date() : null,
        })
        .returning();
      const token = await signer.sign({ userId: row!.id, role, email }, 900);
      return { id: row!.id, email, name: row!.name, role, token };
    },
    bearer: (user) => ({ authorization: `Bearer ${user.token}` }),
    async close() {
      for (const close of closers.splice(0).reverse()) await close();
      redis.disconnect();
      // keyPrefix does not apply to SCAN patterns; clean up with a plain client.
      const raw = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
      try {
        let cursor = "0";
        do {
          const [next, keys] = await raw.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
          if (keys.length > 0) await raw.del(...keys);
          cursor = next;
        } while (cursor !== "0");
      } finally {
        raw.disconnect();
      }
      await database.close();
      await cloned.drop();
    },
  };
  return harness;
}

/** JSON request init. */
export function json(
  body: unknown,
  headers: Record<string, string> = {},
  method = "POST",
): RequestInit {
  return {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  };
}

/**
 * A catalog row written directly, for tests whose subject is not the catalog:
 * a Gitea-like app with a volume, unique slug, EUR 9.00 a month.
 *
 * @example
 * const service = await seedCatalogEntry(h.database.db, { storage: null });
 */
export async function seedCatalogEntry(
  db: Db,
  overrides: Partial<typeof serviceCatalog.$inferInsert> = {},
) {
  const [row] = await db
    .insert(serviceCatalog)
    .values({
      slug: `gitea-${randomUUID().slice(0, 8)}`,
      name: "Gitea",
      image: "gitea/gitea",
      imageTag: "1.22",
      port: 3000,
      cpu: "250m",
      memory: "256Mi",
      storage: "1Gi",
      storageMountPath: "/data",
      priceMinor: 900,
      currency: "EUR",
      ...overrides,
    })
    .returning();
  return row!;
}
export { type DnsRecordType, startTestDnsServer, type TestDnsServer } from "./dns-server";
