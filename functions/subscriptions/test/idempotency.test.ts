import { SANDBOX_PAYMENT_METHODS, sandboxPaymentProvider } from "@minispod/billing/payments";
import { idempotencyKeys, invoices, payments, subscriptions } from "@minispod/db";
import { json } from "@minispod/shared/testing";
import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type SubscriptionBody,
  type SubscriptionsTest,
  seedService,
  setupSubscriptions,
  subscribeRequest,
} from "./helpers";

let t: SubscriptionsTest;
beforeAll(async () => {
  t = await setupSubscriptions();
});
afterAll(() => t.h.close());

const db = () => t.h.database.db;

async function paymentsForService(serviceId: string) {
  const subs = db()
    .select({ id: subscriptions.id })
    .from(subscriptions)
    .where(eq(subscriptions.serviceId, serviceId));
  const invs = db()
    .select({ id: invoices.id })
    .from(invoices)
    .where(inArray(invoices.subscriptionId, subs));
  return db().select().from(payments).where(inArray(payments.invoiceId, invs));
}

describe("Idempotency-Key on POST /api/v1/subscriptions", () => {
  it("answers the same request with the same key with the first answer, charging once", async () => {
    const service = await seedService(db());
    const key = { "idempotency-key": "order-1" };
    const first = await subscribeRequest(t, t.customer, { serviceSlug: service.slug }, key);
    expect(first.status).toBe(201);
    const firstBody = (await first.json()) as SubscriptionBody;
    const charges = t.provider.charges.length;

    // Key order and whitespace do not make another body.
    const again = await t.app.request("/api/v1/subscriptions", {
      method: "POST",
      headers: { ...t.h.bearer(t.customer), ...key, "content-type": "application/json" },
      body: `{ "autoRenew": true,  "serviceSlug": "${service.slug}" }`,
    });
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.headers.get("x-request-id")).toBeTruthy();
    expect(again.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await again.json()).toEqual(firstBody);
    expect(t.provider.charges.length).toBe(charges);
    expect(await paymentsForService(service.id)).toHaveLength(1);
  });

  it("answers 422 to the same key with another body, changing nothing", async () => {
    const service = await seedService(db());
    const other = await seedService(db());
    const key = { "idempotency-key": "order-2" };
    expect((await subscribeRequest(t, t.customer, { serviceSlug: service.slug }, key)).status).toBe(
      201,
    );
    const reused = await subscribeRequest(t, t.customer, { serviceSlug: other.slug }, key);
    expect(reused.status).toBe(422);
    expect(await reused.json()).toMatchObject({ code: "IDEMPOTENCY_KEY_REUSED" });
    expect(await paymentsForService(other.id)).toEqual([]);
    const flipped = await subscribeRequest(
      t,
      t.customer,
      { serviceSlug: service.slug, autoRenew: false },
      key,
    );
    expect(flipped.status).toBe(422);
  });

  it("replays a declined answer (402) with the same status and body", async () => {
    const service = await seedService(db());
    const body = { serviceSlug: service.slug, paymentMethod: SANDBOX_PAYMENT_METHODS.declined };
    const key = { "idempotency-key": "order-3" };
    const first = await subscribeRequest(t, t.customer, body, key);
    expect(first.status).toBe(402);
    const problem = await first.json();
    const again = await subscribeRequest(t, t.customer, body, key);
    expect(again.status).toBe(402);
    expect(again.headers.get("content-type")).toContain("application/problem+json");
    expect(await again.json()).toEqual(problem);
    expect(await paymentsForService(service.id)).toHaveLength(1);
  });

  it("keeps keys per customer: another customer's identical key is their own", async () => {
    const service = await seedService(db());
    const key = { "idempotency-key": "shared-key" };
    const mine = (await (
      await subscribeRequest(t, t.customer, { serviceSlug: service.slug }, key)
    ).json()) as SubscriptionBody;
    const res = await subscribeRequest(t, t.other, { serviceSlug: service.slug }, key);
    expect(res.status).toBe(201);
    expect(((await res.json()) as SubscriptionBody).id).not.toBe(mine.id);
  });

  it("frees the key after an unknown payment outcome, and the pending charge still blocks a second one", async () => {
    const service = await seedService(db());
    const body = { serviceSlug: service.slug, paymentMethod: SANDBOX_PAYMENT_METHODS.error };
    const key = { "idempotency-key": "order-4" };
    expect((await subscribeRequest(t, t.customer, body, key)).status).toBe(503);
    const retry = await subscribeRequest(t, t.customer, body, key);
    expect(retry.status).toBe(409);
    expect(await retry.json()).toMatchObject({ code: "CONFLICT", subscriptionStatus: "PENDING" });
    expect(await paymentsForService(service.id)).toHaveLength(1);
  });

  it("rejects a malformed key with 400", async () => {
    const service = await seedService(db());
    for (const key of ["", "x".repeat(256), "has space"]) {
      const res = await subscribeRequest(
        t,
        t.customer,
        { serviceSlug: service.slug },
        { "idempotency-key": key },
      );
      expect(res.status).toBe(400);
    }
    expect(await paymentsForService(service.id)).toEqual([]);
  });
});

describe("racing duplicates", () => {
  it("charges exactly once when one request with one key races itself", async () => {
    // Latency keeps the first charge in flight while the duplicates arrive.
    const provider = sandboxPaymentProvider({ latencyMs: 50 });
    const app = t.appWith({ provider });
    const service = await seedService(db());
    const send = () =>
      app.request(
        "/api/v1/subscriptions",
        json(
          { serviceSlug: service.slug },
          { ...t.h.bearer(t.customer), "idempotency-key": "race-1" },
        ),
      );
    const responses = await Promise.all(Array.from({ length: 5 }, send));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    // The race was real: duplicates arrived while the first was still charging.
    expect(statuses).toContain(409);
    for (const res of responses.filter((r) => r.status === 409)) {
      expect(await res.json()).toMatchObject({ code: "IDEMPOTENCY_IN_PROGRESS" });
      expect(res.headers.get("retry-after")).toBe("1");
    }
    const ids = new Set(
      await Promise.all(
        responses
          .filter((r) => r.status === 201)
          .map(async (r) => ((await r.json()) as SubscriptionBody).id),
      ),
    );
    expect(ids.size).toBe(1);
    expect(provider.charges).toHaveLength(1);
    expect(await paymentsForService(service.id)).toHaveLength(1);
    const [claim] = await db()
      .select()
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.key, "race-1"));
    expect(claim).toMatchObject({ status: "COMPLETED", responseStatus: 201 });
  });

  it("charges once when two different keys race for one exclusive service", async () => {
    const provider = sandboxPaymentProvider({ latencyMs: 50 });
    const app = t.appWith({ provider });
    const service = await seedService(db());
    const send = (key: string) =>
      app.request(
        "/api/v1/subscriptions",
        json({ serviceSlug: service.slug }, { ...t.h.bearer(t.customer), "idempotency-key": key }),
      );
    const responses = await Promise.all([send("a"), send("b"), send("c")]);
    expect(responses.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    expect(provider.charges).toHaveLength(1);
    expect(await paymentsForService(service.id)).toHaveLength(1);
  });
});
