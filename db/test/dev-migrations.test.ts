import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb, type Database, migrationsFolder } from "../src/client";
import { cloneDatabase } from "../src/testing";

/**
 * Local mode's own tables (the local broker's queue, the simulated cluster) are
 * a dev-only set: `migrateDev()` applies it, the production migrate Job
 * (`migrate()`) never creates them.
 */
const DEV_TABLES = [
  "local_broker_deliveries",
  "local_store_entries",
  "simulated_domains",
  "simulated_namespaces",
  "simulated_workloads",
];

async function tablesOf(database: Database): Promise<string[]> {
  const rows = (await database.db.execute(
    "select table_name from information_schema.tables where table_schema = 'public' order by 1",
  )) as unknown as { table_name: string }[] | { rows: { table_name: string }[] };
  const list = Array.isArray(rows) ? rows : rows.rows;
  return list.map((row) => row.table_name);
}

it("the production set's SQL names none of the dev-only tables", async () => {
  const files = (await readdir(migrationsFolder)).filter((name) => name.endsWith(".sql"));
  expect(files.length).toBeGreaterThan(10);
  for (const file of files) {
    const text = await readFile(join(migrationsFolder, file), "utf8");
    for (const table of DEV_TABLES) expect(text, `${file} mentions ${table}`).not.toContain(table);
  }
});

describe.each(["postgres", "pglite"] as const)("%s", (kind) => {
  let database: Database;
  let drop = async () => {};

  beforeAll(async () => {
    if (kind === "pglite") {
      database = createDb("pglite://memory");
    } else {
      // A fresh database from template0: nothing migrated yet.
      const clone = await cloneDatabase(inject("databaseServerUrl"), "template0");
      database = createDb(clone.url, { max: 1 });
      drop = clone.drop;
    }
  });
  afterAll(async () => {
    await database.close();
    await drop();
  });

  it("migrate() makes the production schema without the dev-only tables", async () => {
    await database.migrate();
    const tables = await tablesOf(database);
    expect(tables).toContain("outbox_events");
    expect(tables.filter((name) => DEV_TABLES.includes(name))).toEqual([]);
  });

  it("migrateDev() adds them, and is safe to run again", async () => {
    await database.migrateDev();
    await database.migrateDev();
    const tables = await tablesOf(database);
    expect(tables.filter((name) => DEV_TABLES.includes(name))).toEqual(DEV_TABLES);
  });

  it("takes over a local data folder that already holds the tables (made before the split)", async () => {
    // Such a folder has the tables but no dev-only journal yet.
    await database.db.execute('drop table "drizzle"."__drizzle_migrations_dev"');
    await database.migrateDev();
    const tables = await tablesOf(database);
    expect(tables.filter((name) => DEV_TABLES.includes(name))).toEqual(DEV_TABLES);
  });
});
