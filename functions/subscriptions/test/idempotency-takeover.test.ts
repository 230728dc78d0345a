import {
  type ChargeRequest,
  type ChargeResult,
  type PaymentProvider,
  PaymentProviderError,
} from "@minispod/billing/payments";
import { idempotencyKeys, invoices, payments, subscriptions } from "@minispod/db";
import { json, type TestUser } from "@minispod/shared/testing";
import { and, asc, eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type SubscriptionBody,
  type SubscriptionsTest,
  seedService,
  setupSubscriptions,
  subscribed,
  subscribeRequest,
} from "./helpers";

let t: SubscriptionsTest;
beforeAll(async () => {
  t = await setupSubscriptions();
});
afterAll(() => t.h.close());

const db = () => t.h.database.db;

/**
 * What a request that died after its work but before storing its answer leaves:
 * the claim IN_PROGRESS, no answer, and old enough to be taken over.
 */
async function dieBeforeStoringTheAnswer(user: TestUser, key: string) {
  const stale = await db()
    .update(idempotencyKeys)
    .set({
      status: "IN_PROGRESS",
      responseStatus: null,
      responseBody: null,
      completedAt: null,
      createdAt: new Date(Date.now() - 10 * 60_000),
    })
    .where(and(eq(idempotencyKeys.userId, user.id), eq(idempotencyKeys.key, key)))
    .returning();
  expect(stale).toHaveLength(1);
}

async function invoicesOf(subscriptionId: string) {
  return db()
    .select()
    .from(invoices)
    .where(eq(invoices.subscriptionId, subscriptionId))
    .orderBy(asc(invoices.periodStart));
}

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

const renewRequest = (id: string, key: string, app = t.app) =>
  app.request(
    `/api/v1/subscriptions/${id}/renew`,
    json({}, { ...t.h.bearer(t.customer), "idempotency-key": key }),
  );

describe("taking over a stale Idempotency-Key claim never charges twice", () => {
  it("renew: a retry after the first request charged and died answers the renewal, buying no second period", async () => {
    const sub = await subscribed(t);
    const first = await renewRequest(sub.id, "renew-died");
    expect(first.status).toBe(200);
    const renewed = (await first.json()) as SubscriptionBody;
    const charges = t.provider.charges.length;
    await dieBeforeStoringTheAnswer(t.customer, "renew-died");

    const retry = await renewRequest(sub.id, "renew-died");
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as SubscriptionBody).currentPeriodEnd).toBe(
      renewed.currentPeriodEnd,
    );
    expect(t.provider.charges.length).toBe(charges);
    expect((await invoicesOf(sub.id)).map((i) => i.status)).toEqual(["PAID", "PAID"]);
  });

  it("subscribe: a retry after the first request charged and died answers that subscription", async () => {
    // allowMultiple: nothing else stops a second subscription.
    const service = await seedService(db(), { allowMultiple: true });
    const body = { serviceSlug: service.slug };
    const key = { "idempotency-key": "subscribe-died" };
    const first = await subscribeRequest(t, t.customer, body, key);
    expect(first.status).toBe(201);
    const created = (await first.json()) as SubscriptionBody;
    const charges = t.provider.charges.length;
    await dieBeforeStoringTheAnswer(t.customer, "subscribe-died");

    const retry = await subscribeRequest(t, t.customer, body, key);
    expect(retry.status).toBe(201);
    expect(((await retry.json()) as SubscriptionBody).id).toBe(created.id);
    expect(t.provider.charges.length).toBe(charges);
    expect(await paymentsForService(service.id)).toHaveLength(1);
  });

  it("subscribe: a retry after the first request died with its charge unsent charges once and activates", async () => {
    const service = await seedService(db(), { allowMultiple: true });
    const body = { serviceSlug: service.slug };
    const key = { "idempotency-key": "subscribe-died-early" };
    // The first request's charge never reaches the provider: it hangs until released.
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started: (() => void) | undefined;
    const charging = new Promise<void>((resolve) => {
      started = resolve;
    });
    const hanging: PaymentProvider = {
      name: t.provider.name,
      findCharge: (k) => t.provider.findCharge(k),
      attachPaymentMethod: (r) => t.provider.attachPaymentMethod(r),
      async charge(request: ChargeRequest): Promise<ChargeResult> {
        started!();
        await gate;
        return t.provider.charge(request);
      },
    };
    const firstPromise = t
      .appWith({ provider: hanging })
      .request("/api/v1/subscriptions", json(body, { ...t.h.bearer(t.customer), ...key }));
    await charging;
    await dieBeforeStoringTheAnswer(t.customer, "subscribe-died-early");

    const retry = await subscribeRequest(t, t.customer, body, key);
    expect(retry.status).toBe(201);
    const created = (await retry.json()) as SubscriptionBody;
    expect(created.status).toBe("ACTIVE");

    // The "dead" request wakes up after all: it finds the payment settled, charging nothing more.
    release!();
    const first = await firstPromise;
    expect(first.status).toBe(201);
    expect(((await first.json()) as SubscriptionBody).id).toBe(created.id);
    const rows = await paymentsForService(service.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.status).toBe("SUCCEEDED");
    expect(
      t.provider.charges.filter((c) => c.request.idempotencyKey === rows[0]!.idempotencyKey),
    ).toHaveLength(1);
  });

  it("renew: a taker whose charge outcome is unknown leaves the claim to the earlier request, which answers once", async () => {
    const sub = await subscribed(t);
    const key = "renew-alive";
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started: (() => void) | undefined;
    const charging = new Promise<void>((resolve) => {
      started = resolve;
    });
    const slow: PaymentProvider = {
      name: t.provider.name,
      findCharge: (k) => t.provider.findCharge(k),
      attachPaymentMethod: (r) => t.provider.attachPaymentMethod(r),
      async charge(request: ChargeRequest): Promise<ChargeResult> {
        started!();
        await gate;
        return t.provider.charge(request);
      },
    };
    const broken: PaymentProvider = {
      name: t.provider.name,
      findCharge: async () => null,
      attachPaymentMethod: (r) => t.provider.attachPaymentMethod(r),
      charge: async () => {
        throw new PaymentProviderError("gateway busy with this key", true);
      },
    };
    const firstPromise = renewRequest(sub.id, key, t.appWith({ provider: slow }));
    await charging;
    await dieBeforeStoringTheAnswer(t.customer, key);

    const taker = await renewRequest(sub.id, key, t.appWith({ provider: broken }));
    expect(taker.status).toBe(409);
    expect(await taker.json()).toMatchObject({ code: "IDEMPOTENCY_IN_PROGRESS" });

    release!();
    const first = await firstPromise;
    expect(first.status).toBe(200);
    const again = await renewRequest(sub.id, key);
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect((await invoicesOf(sub.id)).map((i) => i.status)).toEqual(["PAID", "PAID"]);
  });
});
