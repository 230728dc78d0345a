/**
 * DATABASE_PREPARE=false (createDb's `prepare`), which the CloudNativePG
 * component sets for PgBouncer in transaction mode: the connection then keeps
 * no named prepared statement, which a transaction pooler could hand to
 * another server connection that does not have it.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb } from "../src/client";
import { cloneDatabase } from "../src/testing";

let url = "";
let drop: () => Promise<void>;
beforeAll(async () => {
  const clone = await cloneDatabase(inject("databaseServerUrl"), inject("templateDatabase"));
  url = clone.url;
  drop = clone.drop;
});
afterAll(() => drop?.());

/** Named prepared statements the one pooled connection holds after a parameterised query. */
async function preparedAfterAQuery(prepare: boolean): Promise<number> {
  const database = createDb(url, { max: 1, prepare });
  try {
    // execute's result type differs between the postgres.js and PGlite drivers: read it as rows.
    const [row] = (await database.db.execute(sql`select ${41}::int + 1 as n`)) as unknown as {
      n: number;
    }[];
    expect(Number(row?.n)).toBe(42);
    const [held] = (await database.db.execute(
      sql`select count(*) as n from pg_prepared_statements where name <> ''`,
    )) as unknown as { n: string }[];
    return Number(held?.n);
  } finally {
    await database.close();
  }
}

describe("prepare", () => {
  it("keeps named prepared statements on the connection by default", async () => {
    expect(await preparedAfterAQuery(true)).toBeGreaterThan(0);
  });

  it("keeps none with prepare: false (DATABASE_PREPARE=false, behind PgBouncer)", async () => {
    expect(await preparedAfterAQuery(false)).toBe(0);
  });
});
