import { createPrivateKey, createPublicKey } from "node:crypto";
import * as v from "valibot";
import { describeIssue, sentence } from "./issues";
import { normalizePem } from "./jwt";
import { parseCidr } from "./proxies";

/** Raised when the environment does not match a function's schema; names every bad variable. */
export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "EnvError";
  }
}

type AnyObjectSchema = v.ObjectSchema<v.ObjectEntries, v.ErrorMessage<v.ObjectIssue> | undefined>;

/**
 * Parses `source` (normally `process.env`, passed in by `main.ts`) against a
 * valibot object schema. Empty strings count as unset, so `FOO=` falls back
 * to the default.
 *
 * @example
 * const env = parseEnv(v.object({ PORT: port(8080) }), process.env);
 */
export function parseEnv<TSchema extends AnyObjectSchema>(
  schema: TSchema,
  source: Record<string, string | undefined>,
): v.InferOutput<TSchema> {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(schema.entries)) {
    const value = source[key];
    if (value !== undefined && value !== "") cleaned[key] = value;
  }
  const result = v.safeParse(schema, cleaned);
  if (result.success) return result.output;
  // One line per variable: a pipe keeps checking after its first failure
  // (PORT=abc is "not an integer" and "not between 1 and 65535").
  const problems = new Map<string, string>();
  for (const issue of result.issues) {
    const problem = describeIssue(issue);
    if (!problems.has(problem.field))
      problems.set(problem.field, sentence(problem, "(environment)"));
  }
  throw new EnvError([...problems.values()]);
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "90s", "15m", "24h", "7d" or a bare number of seconds -> seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!match) throw new Error(`not a duration: ${text}`);
  return Number(match[1]) * (UNITS[match[2] || "s"] ?? 1);
}

function keyType(load: () => { asymmetricKeyType?: string | undefined }): string | undefined {
  try {
    return load().asymmetricKeyType;
  } catch {
    return undefined;
  }
}

/** Env schema pieces shared by functions. */
export const envField = {
  port: (fallback: number) =>
    v.optional(
      v.pipe(
        v.string(),
        v.transform(Number),
        v.integer("must be an integer"),
        v.minValue(1, "must be a port between 1 and 65535"),
        v.maxValue(65535, "must be a port between 1 and 65535"),
      ),
      String(fallback),
    ),
  int: (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
    v.optional(
      v.pipe(
        v.string(),
        v.transform(Number),
        v.integer("must be an integer"),
        v.minValue(min, `must be at least ${min}`),
        v.maxValue(max, `must be at most ${max}`),
      ),
      String(fallback),
    ),
  bool: (fallback: boolean) =>
    v.optional(
      v.pipe(
        v.picklist(["true", "false", "1", "0", "yes", "no"], "must be true or false"),
        v.transform((s) => s === "true" || s === "1" || s === "yes"),
      ),
      fallback ? "true" : "false",
    ),
  duration: (fallback: string) =>
    v.optional(
      v.pipe(
        v.string(),
        v.regex(/^\d+\s*[smhd]?$/, 'must be a duration like "15m", "24h" or "7d"'),
        v.transform(parseDuration),
      ),
      fallback,
    ),
  url: () => v.pipe(v.string(), v.url("must be a URL")),
  databaseUrl: () =>
    v.pipe(
      v.string(),
      v.regex(
        /^(postgres(ql)?|pglite):\/\//,
        "must start with postgres://, postgresql:// or pglite://",
      ),
    ),
  redisUrl: () =>
    v.pipe(v.string(), v.regex(/^rediss?:\/\//, "must start with redis:// or rediss://")),
  list: () =>
    v.pipe(
      v.string(),
      v.transform((s) =>
        s
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean),
      ),
    ),
  /** Comma-separated addresses and CIDR ranges ("10.42.0.0/16, ::1"), checked at start-up. */
  cidrList: () =>
    v.pipe(
      envField.list(),
      v.check(
        (items) => items.every((item) => parseCidr(item) !== undefined),
        'must be IP addresses or CIDR ranges separated by commas, e.g. "10.42.0.0/16,10.43.0.0/16"',
      ),
    ),
  /** An Ed25519 private key, PKCS#8 PEM (literal "\\n" allowed); checked at start-up. */
  ed25519PrivateKey: () =>
    v.pipe(
      v.string(),
      v.check(
        (pem) =>
          pem.includes("PRIVATE KEY") &&
          keyType(() => createPrivateKey(normalizePem(pem))) === "ed25519",
        'must be an Ed25519 private key in PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----")',
      ),
    ),
  /** An Ed25519 public key, SPKI PEM (literal "\\n" allowed); checked at start-up. */
  ed25519PublicKey: () =>
    v.pipe(
      v.string(),
      v.check(
        (pem) =>
          pem.includes("PUBLIC KEY") &&
          keyType(() => createPublicKey(normalizePem(pem))) === "ed25519",
        'must be an Ed25519 public key in SPKI PEM ("-----BEGIN PUBLIC KEY-----")',
      ),
    ),
  logLevel: () =>
    v.optional(v.picklist(["fatal", "error", "warn", "info", "debug", "trace", "silent"]), "info"),
  nodeEnv: () => v.optional(v.picklist(["development", "test", "production"]), "development"),
};

/**
 * Variables every function reads. Spread into a function's own schema:
 * `v.object({ ...baseEnvEntries, MY_VAR: v.string() })`.
 */
export const baseEnvEntries = {
  NODE_ENV: envField.nodeEnv(),
  LOG_LEVEL: envField.logLevel(),
  PORT: envField.port(8080),
  DATABASE_URL: envField.databaseUrl(),
  DATABASE_POOL_MAX: envField.int(10, 1, 100),
  /**
   * How long start-up waits for the database (and Redis) to answer before
   * exiting with a message naming it. A fresh PGlite on a loaded machine needs
   * more than a few seconds.
   */
  STARTUP_CONNECT_TIMEOUT: envField.duration("30s"),
  /** Server-side prepared statements; false behind PgBouncer transaction pooling before 1.21. */
  DATABASE_PREPARE: envField.bool(true),
  REDIS_URL: v.optional(envField.redisUrl()),
  /** Prefix of every Redis key, so several deployments (or test runs) can share one Redis. */
  REDIS_KEY_PREFIX: v.optional(v.pipe(v.string(), v.maxLength(64)), "minispod:"),
  /** Injected by a Knative SinkBinding; wins over BROKER_URL. */
  K_SINK: v.optional(envField.url()),
  BROKER_URL: v.optional(envField.url()),
  METRICS_ENABLED: envField.bool(true),
  /** Verifying key for access tokens (SPKI PEM). Either this or JWT_JWKS_URL. */
  JWT_PUBLIC_KEY: v.optional(envField.ed25519PublicKey()),
  JWT_JWKS_URL: v.optional(envField.url()),
  /**
   * During a key rotation, the previous signing key's public half (SPKI PEM):
   * tokens it signed verify until they expire. Unset when not rotating.
   */
  JWT_PREVIOUS_PUBLIC_KEY: v.optional(envField.ed25519PublicKey()),
  JWT_ISSUER: v.optional(v.string(), "minispod"),
  JWT_AUDIENCE: v.optional(v.string(), "minispod-api"),
  CORS_ORIGINS: v.optional(envField.list(), ""),
  /** Requests per minute one access token may make to the API (0 = unlimited). */
  API_RATE_LIMIT_PER_TOKEN: envField.int(600, 0, 1_000_000),
  /**
   * Proxies in front that append to X-Forwarded-For. 0 (the default) trusts
   * none: the client is the socket's peer, as for `npm start` where nothing
   * fronts the process. Deployments behind proxies set this or TRUSTED_PROXIES.
   */
  TRUST_PROXY_HOPS: envField.int(0, 0, 10),
  /**
   * The proxies' own addresses (CIDR ranges: the cluster's pod and service
   * networks, loopback). When set, the client is the first X-Forwarded-For
   * entry from the right outside them, however many proxies took part, and
   * TRUST_PROXY_HOPS is not used.
   */
  TRUSTED_PROXIES: v.optional(envField.cidrList(), ""),
  BODY_LIMIT_BYTES: envField.int(1024 * 1024, 1024, 50 * 1024 * 1024),
  /** Public base URL of the API/web app, used in links sent to customers. */
  APP_URL: v.optional(envField.url(), "http://localhost:3000"),
};

export const baseEnvSchema = v.object(baseEnvEntries);
export type BaseEnv = v.InferOutput<typeof baseEnvSchema>;
