import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDb, type Database, localStoreEntries } from "@minispod/db";
import { afterEach, describe, expect, it } from "vitest";
import { durableKeys } from "../src/durable-store";
import { revokeUserTokens } from "../src/revocation";
import { memoryStore } from "../src/store";

/** Local mode's store on PGlite: revocation marks kept in the database across restarts. */
const opened: Database[] = [];
async function open(dir: string) {
  const database = createDb(`pglite://${dir}`);
  await database.migrate();
  await database.migrateDev();
  opened.push(database);
  return database;
}
afterEach(async () => {
  for (const database of opened.splice(0)) await database.close();
});

describe("durableKeys", () => {
  it("keeps a revocation mark set inside a transaction (one PGlite connection) across a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "minispod-durable-"));
    const first = await open(dir);
    const store = durableKeys(memoryStore(), first.db);
    const at = new Date();
    // Inside a transaction, as admin's disable does: must not wait for the transaction's own connection.
    await first.db.transaction(async () => {
      await revokeUserTokens(store, "user-1", at, 900);
    });
    expect(await store.get("tokens-revoked-before:user-1")).toBe(String(at.getTime()));
    await store.settle();
    await first.close();
    opened.splice(0);

    const second = await open(dir);
    const reopened = durableKeys(memoryStore(), second.db);
    expect(await reopened.get("tokens-revoked-before:user-1")).toBe(String(at.getTime()));
    // Other keys stay in memory only.
    await reopened.set("cache:x", "1", 60);
    await reopened.settle();
    const rows = await second.db.select().from(localStoreEntries);
    expect(rows.map((r) => r.key)).toEqual(["tokens-revoked-before:user-1"]);
  });

  it("drops marks whose time is up when it loads them", async () => {
    const database = await open("memory");
    let now = Date.now();
    const store = durableKeys(
      memoryStore(() => now),
      database.db,
      { now: () => now },
    );
    await store.set("tokens-revoked-before:old", "1", 10);
    await store.settle();
    now += 20_000;
    const later = durableKeys(
      memoryStore(() => now),
      database.db,
      { now: () => now },
    );
    expect(await later.get("tokens-revoked-before:old")).toBeNull();
    expect(await database.db.select().from(localStoreEntries)).toEqual([]);
  });
});
