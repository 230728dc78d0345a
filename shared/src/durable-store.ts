import { type Db, localStoreEntries } from "@minispod/db";
import { eq, lte } from "drizzle-orm";
import { REVOCATION_KEY_PREFIX } from "./revocation";
import type { KeyValueStore } from "./store";

/** Keys that must outlive the process: the token revocation marks. */
export const DURABLE_KEY_PREFIXES: readonly string[] = [REVOCATION_KEY_PREFIX];

const isDurable = (key: string, prefixes: readonly string[]) =>
  prefixes.some((prefix) => key.startsWith(prefix));

/**
 * Local mode's in-memory store, with the keys under `prefixes` also written to
 * the database (`local_store_entries`) and read back after a restart. Without
 * it a restart forgets every revocation mark, and a disabled user's old
 * access token works again until it expires. Reads stay in memory: the rows
 * are loaded once, before the first durable read or write.
 *
 * The row is written in the background, after the memory copy is set: the
 * marks are set inside the caller's transaction (admin's disable), and on
 * PGlite, one connection, a write outside it would wait for that transaction
 * to end, which waits for the write. Queued behind it, the row lands once it
 * commits; `settle()` (called before the database closes) waits for it.
 *
 * @example
 * const store = durableKeys(memoryStore(), database.db);
 * await revokeUserTokens(store, userId, new Date(), 900); // survives a restart
 */
export interface DurableStore extends KeyValueStore {
  /** Waits for the rows still being written. */
  settle(): Promise<void>;
}

export function durableKeys(
  memory: KeyValueStore,
  db: Db,
  options: {
    prefixes?: readonly string[];
    now?: () => number;
    onWriteError?: (error: unknown, key: string) => void;
  } = {},
): DurableStore {
  const prefixes = options.prefixes ?? DURABLE_KEY_PREFIXES;
  const now = options.now ?? Date.now;
  const pending = new Set<Promise<void>>();
  const background = (key: string, write: () => Promise<unknown>) => {
    const p: Promise<void> = write()
      .then(() => undefined)
      .catch((error: unknown) => options.onWriteError?.(error, key))
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  // Keys written or deleted here since start: the rows loaded later must not override them.
  const touched = new Set<string>();
  let loading: Promise<void> | undefined;
  const load = () => {
    loading ??= (async () => {
      const at = new Date(now());
      await db.delete(localStoreEntries).where(lte(localStoreEntries.expiresAt, at));
      for (const row of await db.select().from(localStoreEntries)) {
        const ttl = row.expiresAt
          ? Math.ceil((row.expiresAt.getTime() - at.getTime()) / 1000)
          : undefined;
        if (touched.has(row.key)) continue;
        if (ttl === undefined || ttl > 0) await memory.set(row.key, row.value, ttl);
      }
    })().catch((error: unknown) => {
      // Try again on the next use rather than serving without the marks for good.
      loading = undefined;
      throw error;
    });
    return loading;
  };
  const save = (key: string, value: string, ttlSeconds?: number) => {
    const expiresAt = ttlSeconds ? new Date(now() + ttlSeconds * 1000) : null;
    touched.add(key);
    background(key, async () => {
      await load();
      await db
        .insert(localStoreEntries)
        .values({ key, value, expiresAt })
        .onConflictDoUpdate({ target: localStoreEntries.key, set: { value, expiresAt } });
    });
  };
  return {
    async get(key) {
      if (isDurable(key, prefixes)) await load();
      return memory.get(key);
    },
    async set(key, value, ttlSeconds) {
      // No waiting on the database here (see above): memory now, the row behind.
      if (isDurable(key, prefixes)) save(key, value, ttlSeconds);
      await memory.set(key, value, ttlSeconds);
    },
    async setIfAbsent(key, value, ttlSeconds) {
      if (!isDurable(key, prefixes)) return memory.setIfAbsent(key, value, ttlSeconds);
      await load();
      const set = await memory.setIfAbsent(key, value, ttlSeconds);
      if (set) save(key, value, ttlSeconds);
      return set;
    },
    async del(key) {
      if (isDurable(key, prefixes)) {
        touched.add(key);
        background(key, async () => {
          await load();
          await db.delete(localStoreEntries).where(eq(localStoreEntries.key, key));
        });
      }
      await memory.del(key);
    },
    ping: () => memory.ping(),
    async settle() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
