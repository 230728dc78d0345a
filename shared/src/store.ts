import { Redis } from "ioredis";

/**
 * Small key-value store used for caching and coordination. Redis in
 * production; an in-memory map in local mode (one process, nothing shared).
 */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  /** Sets only when absent; true when this call set it. */
  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  del(key: string): Promise<void>;
  ping(): Promise<void>;
}

export interface RateLimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets (>= 1). */
  retryAfterSeconds: number;
}

/** Fixed-window counter: at most `limit` hits per `windowSeconds` for one key. */
export interface RateLimiter {
  hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitResult>;
}

export function createRedisClient(url: string, keyPrefix = "minispod:"): Redis {
  return new Redis(url, {
    keyPrefix,
    lazyConnect: false,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    // Commands issued in the same tick (the per-token rate limit and the
    // revocation read of one request, or of concurrent requests) share one write.
    enableAutoPipelining: true,
  });
}

export function redisStore(redis: Redis): KeyValueStore {
  return {
    get: (key) => redis.get(key),
    async set(key, value, ttlSeconds) {
      if (ttlSeconds) await redis.set(key, value, "EX", ttlSeconds);
      else await redis.set(key, value);
    },
    async setIfAbsent(key, value, ttlSeconds) {
      return (await redis.set(key, value, "EX", ttlSeconds, "NX")) === "OK";
    },
    async del(key) {
      await redis.del(key);
    },
    async ping() {
      await redis.ping();
    },
  };
}

// INCR and set the expiry on the first hit, atomically; returns [count, ttl ms].
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
`;

type HitCommand = (key: string, windowMs: number) => Promise<[number, number]>;

export function redisRateLimiter(redis: Redis): RateLimiter {
  // defineCommand sends EVALSHA (the script's digest, not its text) and falls
  // back to EVAL once if the server does not know the script yet.
  if (!("minispodHit" in redis)) {
    redis.defineCommand("minispodHit", { numberOfKeys: 1, lua: HIT_SCRIPT });
  }
  const hit = (redis as unknown as { minispodHit: HitCommand }).minispodHit.bind(redis);
  return {
    async hit(key, limit, windowSeconds) {
      const [count, ttl] = await hit(`rl:${key}`, windowSeconds * 1000);
      return result(count, ttl, limit);
    },
  };
}

function result(count: number, ttlMs: number, limit: number): RateLimitResult {
  return {
    allowed: count <= limit,
    limit,
    remaining: Math.max(0, limit - count),
    retryAfterSeconds: Math.max(1, Math.ceil(ttlMs / 1000)),
  };
}

/** In-memory store and limiter for local mode; `now` is injectable for tests. */
export function memoryStore(now: () => number = Date.now): KeyValueStore & RateLimiter {
  const entries = new Map<string, { value: string; expiresAt: number }>();
  const live = (key: string) => {
    const entry = entries.get(key);
    if (entry && entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  return {
    get: async (key) => live(key)?.value ?? null,
    async set(key, value, ttlSeconds) {
      entries.set(key, { value, expiresAt: ttlSeconds ? now() + ttlSeconds * 1000 : Infinity });
    },
    async setIfAbsent(key, value, ttlSeconds) {
      if (live(key)) return false;
      entries.set(key, { value, expiresAt: now() + ttlSeconds * 1000 });
      return true;
    },
    async del(key) {
      entries.delete(key);
    },
    async ping() {},
    async hit(key, limit, windowSeconds) {
      const k = `rl:${key}`;
      const entry = live(k) ?? { value: "0", expiresAt: now() + windowSeconds * 1000 };
      const count = Number(entry.value) + 1;
      entries.set(k, { value: String(count), expiresAt: entry.expiresAt });
      return result(count, entry.expiresAt - now(), limit);
    },
  };
}
