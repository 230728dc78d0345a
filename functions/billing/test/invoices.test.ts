import type { SubscriptionDetail } from "@minispod/billing";
import { SANDBOX_PAYMENT_METHODS } from "@minispod/billing/payments";
import { json, runRouteSecurityTests, type TestUser } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BillingTest, setupBilling, subscribeVia } from "./helpers";

interface Invoice {
  id: string;
  number: string;
  userId: string;
  subscriptionId: string;
  status: string;
  amountMinor: number;
  currency: string;
  service: { slug: string; name: string };
  payments: { id: string; status: string; failureCode: string | null; provider: string }[];
}
interface Page {
  items: Invoice[];
  nextCursor: string | null;
}

let t: BillingTest;
let alice: TestUser;
let bob: TestUser;
let aliceSub: SubscriptionDetail;
let bobSub: SubscriptionDetail;
let aliceInvoices: string[];
beforeAll(async () => {
  t = await setupBilling();
  alice = await t.h.user();
  bob = await t.h.user();
  aliceSub = (await subscribeVia(t, alice)).body;
  // A declined renewal, then a good one: the second invoice has two payment attempts.
  const renew = (paymentMethod?: string) =>
    t.subscriptions.request(
      `/api/v1/subscriptions/${aliceSub.id}/renew`,
      json(paymentMethod ? { paymentMethod } : {}, t.h.bearer(alice)),
    );
  expect((await renew(SANDBOX_PAYMENT_METHODS.declined)).status).toBe(402);
  const renewed = (await (await renew()).json()) as SubscriptionDetail;
  const second = (await subscribeVia(t, alice)).body;
  // Oldest first: the first period, its renewal, the second subscription's.
  aliceInvoices = [aliceSub.latestInvoice!.id, renewed.latestInvoice!.id, second.latestInvoice!.id];
  bobSub = (await subscribeVia(t, bob)).body;
});
afterAll(() => t.h.close());

const get = async (path: string, user: TestUser) => {
  const res = await t.app.request(path, { headers: t.h.bearer(user) });
  return { res, body: (await res.json()) as Page & Invoice & { code: string } };
};

describe("GET /api/v1/invoices", () => {
  it("lists only the caller's invoices, newest first", async () => {
    const { res, body } = await get("/api/v1/invoices", alice);
    expect(res.status).toBe(200);
    expect(body.items).toHaveLength(3);
    expect(body.items.every((i) => i.userId === alice.id)).toBe(true);
    expect(body.items[0]?.id).toBe(aliceInvoices[2]);
    expect(body.items[0]).toMatchObject({ status: "PAID", amountMinor: 500, currency: "EUR" });
    expect(body.items[0]?.number).toMatch(/^INV-\d{4}-\d{6,}$/);
    expect(body.nextCursor).toBeNull();
  });

  it("pages with limit and cursor", async () => {
    const first = await get("/api/v1/invoices?limit=2", alice);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).not.toBeNull();
    const rest = await get(`/api/v1/invoices?limit=2&cursor=${first.body.nextCursor}`, alice);
    expect(rest.body.items).toHaveLength(1);
    expect(rest.body.nextCursor).toBeNull();
    const ids = [...first.body.items, ...rest.body.items].map((i) => i.id);
    expect(new Set(ids).size).toBe(3);
  });

  it("filters by subscription and status", async () => {
    const bySub = await get(`/api/v1/invoices?subscriptionId=${aliceSub.id}`, alice);
    expect(bySub.body.items).toHaveLength(2);
    const open = await get("/api/v1/invoices?status=OPEN", alice);
    expect(open.body.items).toEqual([]);
    // Another customer's subscription id filters to nothing rather than leaking.
    const theirs = await get(`/api/v1/invoices?subscriptionId=${bobSub.id}`, alice);
    expect(theirs.body.items).toEqual([]);
  });

  it("shows admins everyone's, or one customer's with ?userId=", async () => {
    const all = await get("/api/v1/invoices?limit=100", t.admin);
    expect(new Set(all.body.items.map((i) => i.userId))).toEqual(new Set([alice.id, bob.id]));
    const onlyBob = await get(`/api/v1/invoices?userId=${bob.id}`, t.admin);
    expect(onlyBob.body.items.map((i) => i.id)).toEqual([bobSub.latestInvoice!.id]);
  });

  it("answers 403 to a customer asking for another user's invoices", async () => {
    const { res, body } = await get(`/api/v1/invoices?userId=${bob.id}`, alice);
    expect(res.status).toBe(403);
    expect(body.code).toBe("FORBIDDEN");
  });

  it("rejects bad query parameters with 400", async () => {
    for (const query of ["limit=0", "cursor=%%%", "status=LOST", "userId=x", "subscriptionId=x"]) {
      const { res } = await get(`/api/v1/invoices?${query}`, alice);
      expect(res.status, query).toBe(400);
    }
  });
});

describe("GET /api/v1/invoices/:id", () => {
  it("shows an invoice with its service and every payment attempt", async () => {
    const renewal = aliceInvoices[1]!;
    const { res, body } = await get(`/api/v1/invoices/${renewal}`, alice);
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ id: renewal, status: "PAID", subscriptionId: aliceSub.id });
    expect(body.service.slug).toBe(aliceSub.service.slug);
    expect(body.payments.map((p) => [p.status, p.failureCode])).toEqual([
      ["FAILED", "card_declined"],
      ["SUCCEEDED", null],
    ]);
    expect(body.payments[0]).not.toHaveProperty("idempotencyKey");
  });

  it("answers 404 to another customer's invoice, as to a missing one", async () => {
    const theirs = await get(`/api/v1/invoices/${bobSub.latestInvoice!.id}`, alice);
    expect(theirs.res.status).toBe(404);
    const missing = await get("/api/v1/invoices/00000000-0000-4000-8000-000000000000", alice);
    expect(missing.res.status).toBe(404);
  });

  it("lets an admin see any invoice", async () => {
    const { res } = await get(`/api/v1/invoices/${bobSub.latestInvoice!.id}`, t.admin);
    expect(res.status).toBe(200);
  });

  it("answers 400 to an id that is not a UUID", async () => {
    expect((await get("/api/v1/invoices/abc", alice)).res.status).toBe(400);
  });
});

runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
  method: "GET",
  path: "/api/v1/invoices",
});
runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
  method: "GET",
  path: () => `/api/v1/invoices/${bobSub.latestInvoice!.id}`,
});
