import { runRouteSecurityTests, type TestUser } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type SubscriptionBody,
  type SubscriptionsTest,
  setupSubscriptions,
  subscribed,
} from "./helpers";

let t: SubscriptionsTest;
let alice: TestUser;
let bob: TestUser;
let aliceSubs: SubscriptionBody[];
let bobSub: SubscriptionBody;
beforeAll(async () => {
  t = await setupSubscriptions();
  alice = await t.h.user();
  bob = await t.h.user();
  aliceSubs = [];
  for (let i = 0; i < 3; i++) aliceSubs.push(await subscribed(t, alice));
  bobSub = await subscribed(t, bob);
});
afterAll(() => t.h.close());

interface ListBody {
  items: SubscriptionBody[];
  nextCursor: string | null;
}

const get = async (path: string, user: TestUser) => {
  const res = await t.app.request(path, { headers: t.h.bearer(user) });
  return {
    res,
    body: (await res.json()) as ListBody & SubscriptionBody & { code: string; detail: string },
  };
};

describe("GET /api/v1/subscriptions", () => {
  it("lists only the caller's subscriptions, newest first", async () => {
    const { res, body } = await get("/api/v1/subscriptions", alice);
    expect(res.status).toBe(200);
    expect(body.items.map((s) => s.id)).toEqual(aliceSubs.map((s) => s.id).reverse());
    expect(body.nextCursor).toBeNull();
    expect(body.items[0]).toMatchObject({
      status: "ACTIVE",
      service: { slug: aliceSubs[2]!.service.slug, name: "Gitea" },
      instance: { status: "PENDING", url: aliceSubs[2]!.instance!.url },
    });
  });

  it("pages with limit and cursor until nextCursor is null", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const { res, body } = await get(`/api/v1/subscriptions${query}`, alice);
      expect(res.status).toBe(200);
      expect(body.items.length).toBeLessThanOrEqual(2);
      seen.push(...body.items.map((s) => s.id));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(aliceSubs.map((s) => s.id).reverse());
  });

  it("filters by status", async () => {
    const { body } = await get("/api/v1/subscriptions?status=CANCELLED", alice);
    expect(body.items).toEqual([]);
    const active = await get("/api/v1/subscriptions?status=ACTIVE", alice);
    expect(active.body.items).toHaveLength(3);
  });

  it("shows admins everyone's, or one customer's with ?userId=", async () => {
    const all = await get("/api/v1/subscriptions?limit=100", t.admin);
    expect(all.body.items.map((s) => s.id)).toEqual(
      expect.arrayContaining([...aliceSubs.map((s) => s.id), bobSub.id]),
    );
    const onlyBob = await get(`/api/v1/subscriptions?userId=${bob.id}`, t.admin);
    expect(onlyBob.body.items.map((s) => s.id)).toEqual([bobSub.id]);
  });

  it("forbids a customer from listing another user's subscriptions (403)", async () => {
    const { res, body } = await get(`/api/v1/subscriptions?userId=${bob.id}`, alice);
    expect(res.status).toBe(403);
    expect(body.code).toBe("FORBIDDEN");
    const own = await get(`/api/v1/subscriptions?userId=${alice.id}`, alice);
    expect(own.body.items).toHaveLength(3);
  });

  it("rejects bad query parameters with 400", async () => {
    for (const query of [
      "limit=0",
      "limit=101",
      "limit=x",
      "cursor=garbage",
      "status=SLEEPING",
      "userId=1",
    ]) {
      const { res, body } = await get(`/api/v1/subscriptions?${query}`, alice);
      expect(res.status, query).toBe(400);
      expect(body.code).toBe("VALIDATION_FAILED");
    }
  });
});

describe("GET /api/v1/subscriptions/:id", () => {
  it("shows the subscription with its instance and invoices", async () => {
    const mine = aliceSubs[0]!;
    const { res, body } = await get(`/api/v1/subscriptions/${mine.id}`, alice);
    expect(res.status).toBe(200);
    expect(body).toMatchObject({
      id: mine.id,
      status: "ACTIVE",
      instance: mine.instance,
      latestInvoice: { id: mine.latestInvoice!.id, status: "PAID" },
    });
    expect(body.invoices.map((i) => i.id)).toEqual([mine.latestInvoice!.id]);
  });

  it("answers 404 for another customer's subscription, as for a missing one", async () => {
    const theirs = await get(`/api/v1/subscriptions/${bobSub.id}`, alice);
    expect(theirs.res.status).toBe(404);
    const missing = await get("/api/v1/subscriptions/00000000-0000-4000-8000-000000000000", alice);
    expect(missing.res.status).toBe(404);
    expect(theirs.body.detail).toBe(missing.body.detail);
  });

  it("lets an admin see any subscription", async () => {
    const { res, body } = await get(`/api/v1/subscriptions/${bobSub.id}`, t.admin);
    expect(res.status).toBe(200);
    expect(body.userId).toBe(bob.id);
  });

  it("answers 400 to an id that is not a UUID", async () => {
    const { res } = await get("/api/v1/subscriptions/not-a-uuid", alice);
    expect(res.status).toBe(400);
  });
});

runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
  method: "GET",
  path: "/api/v1/subscriptions",
});
runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
  method: "GET",
  path: () => `/api/v1/subscriptions/${bobSub.id}`,
});
