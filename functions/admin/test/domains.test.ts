import { instanceDomains } from "@minispod/db";
import { runRouteSecurityTests } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AdminTest, seedHolding, setupAdmin } from "./helpers";

let t: AdminTest;
const ids: Record<string, string> = {};

beforeAll(async () => {
  t = await setupAdmin();
  const db = t.h.database.db;
  const mine = await seedHolding(db, t.customer.id);
  const theirs = await seedHolding(db, t.other.id);
  const rows = await db
    .insert(instanceDomains)
    .values([
      {
        instanceId: mine.instanceId!,
        userId: t.customer.id,
        domain: "a.example.com",
        token: "secret-token-a",
        createdAt: new Date("2026-01-01T00:00:00Z"),
      },
      {
        instanceId: mine.instanceId!,
        userId: t.customer.id,
        domain: "b.example.com",
        token: "secret-token-b",
        state: "ACTIVE",
        verifiedAt: new Date("2026-01-02T00:00:00Z"),
        createdAt: new Date("2026-01-02T00:00:00Z"),
      },
      {
        instanceId: theirs.instanceId!,
        userId: t.other.id,
        domain: "c.example.com",
        token: "secret-token-c",
        createdAt: new Date("2026-01-03T00:00:00Z"),
      },
    ])
    .returning();
  for (const r of rows) ids[r.domain] = r.id;
  ids.mineInstance = mine.instanceId!;
});
afterAll(() => t.close());

const list = async (query = "") => {
  const response = await t.app.request(`/api/v1/admin/domains${query}`, {
    headers: t.h.bearer(t.admin),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
const domainsOf = (body: Record<string, unknown>) =>
  (body.items as { domain: string }[]).map((d) => d.domain);

describe("GET /api/v1/admin/domains", () => {
  it("lists every account's domains newest first, without their tokens", async () => {
    const { status, body } = await list();
    expect(status).toBe(200);
    expect(domainsOf(body)).toEqual(["c.example.com", "b.example.com", "a.example.com"]);
    expect(JSON.stringify(body)).not.toContain("secret-token");
  });

  it("filters by account, instance and state, and pages", async () => {
    expect(domainsOf((await list(`?userId=${t.customer.id}`)).body)).toEqual([
      "b.example.com",
      "a.example.com",
    ]);
    expect(domainsOf((await list(`?instanceId=${ids.mineInstance}`)).body)).toHaveLength(2);
    expect(domainsOf((await list("?state=ACTIVE")).body)).toEqual(["b.example.com"]);
    const first = (await list("?limit=2")).body;
    expect(domainsOf(first)).toHaveLength(2);
    const second = (await list(`?limit=2&cursor=${first.nextCursor as string}`)).body;
    expect(domainsOf(second)).toEqual(["a.example.com"]);
  });

  it.each(["?state=LOST", "?userId=nope", "?limit=0"])("answers 400 to %s", async (query) => {
    expect((await list(query)).status).toBe(400);
  });

  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
    method: "GET",
    path: "/api/v1/admin/domains",
    roles: ["ADMIN", "SUPER_ADMIN"],
  });
});
