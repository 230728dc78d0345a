import { runRouteSecurityTests, seedCatalogEntry } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AdminTest, type Holding, rejectsQueries, seedHolding, setupAdmin } from "./helpers";

let t: AdminTest;
let serviceId: string;
let soon: Holding;
let later: Holding;
let pastDue: Holding;
let theirs: Holding;
const day = 86_400_000;
const base = Date.UTC(2031, 0, 15);

beforeAll(async () => {
  t = await setupAdmin();
  const db = t.h.database.db;
  serviceId = (await seedCatalogEntry(db, { allowMultiple: true })).id;
  soon = await seedHolding(db, t.customer.id, { serviceId, periodEnd: new Date(base + day) });
  later = await seedHolding(db, t.customer.id, { serviceId, periodEnd: new Date(base + 10 * day) });
  pastDue = await seedHolding(db, t.customer.id, {
    status: "PAST_DUE",
    periodEnd: new Date(base + 2 * day),
  });
  theirs = await seedHolding(db, t.other.id, { serviceId, periodEnd: new Date(base + 3 * day) });
});
afterAll(() => t.close());

const ids = async (query: string) => {
  const response = await t.app.request(`/api/v1/admin/subscriptions?${query}`, {
    headers: t.h.bearer(t.admin),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { items: { id: string }[]; nextCursor: string | null };
  return { ids: body.items.map((s) => s.id), nextCursor: body.nextCursor };
};

describe("GET /api/v1/admin/subscriptions", () => {
  it("lists everyone's, newest first", async () => {
    const all = await ids("limit=100");
    expect(all.ids).toEqual([theirs, pastDue, later, soon].map((h) => h.subscriptionId));
  });

  it("filters by status, service, user and period end range (from inclusive, to exclusive)", async () => {
    expect((await ids("status=PAST_DUE")).ids).toEqual([pastDue.subscriptionId]);
    expect((await ids(`serviceId=${serviceId}`)).ids).toEqual(
      [theirs, later, soon].map((h) => h.subscriptionId),
    );
    expect((await ids(`userId=${t.other.id}`)).ids).toEqual([theirs.subscriptionId]);
    const from = new Date(base + day).toISOString();
    const to = new Date(base + 3 * day).toISOString();
    expect((await ids(`periodEndFrom=${from}&periodEndTo=${to}`)).ids).toEqual(
      [pastDue, soon].map((h) => h.subscriptionId),
    );
    expect((await ids("periodEndFrom=2031-01-20")).ids).toEqual([later.subscriptionId]);
    expect(
      (await ids(`serviceId=${serviceId}&userId=${t.customer.id}&periodEndTo=2031-01-20`)).ids,
    ).toEqual([soon.subscriptionId]);
  });

  it("pages with a cursor", async () => {
    const first = await ids("limit=3");
    expect(first.ids).toHaveLength(3);
    const second = await ids(`limit=3&cursor=${first.nextCursor}`);
    expect(second).toEqual({ ids: [soon.subscriptionId], nextCursor: null });
  });

  rejectsQueries(() => t, "/api/v1/admin/subscriptions", [
    ["status=LIVE", "status"],
    ["serviceId=abc", "serviceId"],
    ["userId=abc", "userId"],
    ["periodEndFrom=yesterday", "periodEndFrom"],
    ["periodEndTo=2031-02-30T00:00:00Z", "periodEndTo"],
    ["periodEndFrom=2031-13-01", "periodEndFrom"],
    ["periodEndFrom=2031-02-01&periodEndTo=2031-01-01", "periodEndFrom"],
    ["limit=-1", "limit"],
  ]);

  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
    method: "GET",
    path: "/api/v1/admin/subscriptions",
    roles: ["ADMIN", "SUPER_ADMIN"],
  });
});
