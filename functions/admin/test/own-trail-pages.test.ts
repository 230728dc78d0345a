import { auditLog } from "@minispod/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AdminTest, setupAdmin } from "./helpers";

/**
 * A user's own trail is read as two parts (entries about their things, and
 * entries they made about others' things), each a page of its own index, and
 * merged. Paging through it must give every entry once, in the keyset's order
 * (created_at, then id, newest first), whatever the mix.
 */
let t: AdminTest;
type Row = typeof auditLog.$inferInsert & { id: string; createdAt: Date };
const rows: Row[] = [];
const minute = 60_000;
const base = new Date("2026-10-01T12:00:00.000Z").getTime();

/** An id whose order among ties is `n` (ids compare as bytes, like their hex). */
const idOf = (n: number) => `0190${n.toString(16).padStart(4, "0")}-0000-7000-8000-000000000000`;

beforeAll(async () => {
  t = await setupAdmin();
  const me = t.customer.id;
  const other = t.other.id;
  let n = 0;
  const add = (at: number, fields: Partial<Row>) =>
    rows.push({
      id: idOf(++n),
      createdAt: new Date(base - at * minute),
      action: "test.entry",
      resourceType: "subscription",
      resourceId: `r${n}`,
      ...fields,
    });
  // About my things, by the platform (some at the very same millisecond as my own actions).
  for (const at of [1, 3, 5, 7, 9, 11, 13]) add(at, { actorRole: "SYSTEM", ownerId: me });
  // By me about another's things (an admin's kind of entry), interleaved and tied.
  for (const at of [2, 3, 6, 9, 12])
    add(at, { actorId: me, actorRole: "CUSTOMER", ownerId: other });
  // By me about my own things: in both parts' conditions, shown once.
  for (const at of [4, 5, 10]) add(at, { actorId: me, actorRole: "CUSTOMER", ownerId: me });
  // By me with no owner recorded (an entry about no one's things).
  add(8, { actorId: me, actorRole: "CUSTOMER", ownerId: null });
  // Not mine at all.
  for (const at of [1, 2, 3, 4, 5, 6])
    add(at, { actorId: other, actorRole: "CUSTOMER", ownerId: other });
  for (const at of [2, 7]) add(at, { actorRole: "SYSTEM", ownerId: other });
  await t.h.database.db.insert(auditLog).values(rows);
});
afterAll(() => t.close());

/** Mine, in the keyset's order. */
function expected(filter: (row: Row) => boolean = () => true) {
  const me = t.customer.id;
  return rows
    .filter((r) => r.ownerId === me || r.actorId === me)
    .filter(filter)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
    .map((r) => r.id);
}

async function walk(query: string, limit: number) {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 50; pages++) {
    const path = `/api/v1/audit?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ""}`;
    const response = await t.app.request(path, { headers: t.h.bearer(t.customer) });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { items: { id: string }[]; nextCursor: string | null };
    expect(body.items.length).toBeLessThanOrEqual(limit);
    seen.push(...body.items.map((i) => i.id));
    cursor = body.nextCursor;
    if (!cursor) return seen;
  }
  throw new Error("more than 50 pages");
}

describe("paging through a user's own trail", () => {
  it.each([1, 2, 3, 5, 100])("gives each entry once, newest first, %i a page", async (limit) => {
    const ids = await walk("", limit);
    expect(ids).toEqual(expected());
    expect(ids).toHaveLength(16);
  });

  it("applies the filters to both parts", async () => {
    const from = new Date(base - 9 * minute).toISOString();
    const to = new Date(base - 2 * minute).toISOString();
    const ids = await walk(`&from=${from}&to=${to}`, 2);
    expect(ids).toEqual(
      expected(
        (r) =>
          r.createdAt.getTime() >= base - 9 * minute && r.createdAt.getTime() < base - 2 * minute,
      ),
    );
    expect(ids.length).toBeGreaterThan(4);
  });
});
