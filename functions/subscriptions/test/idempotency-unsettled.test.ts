import { billingContextOf, settleCharge } from "@minispod/billing";
import {
  type ChargeRequest,
  type ChargeResult,
  type PaymentProvider,
  PaymentProviderError,
  SANDBOX_PAYMENT_METHODS,
} from "@minispod/billing/payments";
import { idempotencyKeys, invoices, payments } from "@minispod/db";
import type { AppEnv } from "@minispod/shared";
import { json } from "@minispod/shared/testing";
import { and, asc, eq } from "drizzle-orm";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type SubscriptionBody,
  type SubscriptionsTest,
  seedService,
  setupSubscriptions,
  subscribed,
  subscribeRequest,
} from "./helpers";

/**
 * A 409 that only says "a payment is still being confirmed" is no answer to
 * keep under an Idempotency-Key: after an unknown outcome (503) the retry must
 * not get it replayed forever, but the real outcome once the payment settles.
 */

let t: SubscriptionsTest;
beforeAll(async () => {
  t = await setupSubscriptions();
});
afterAll(() => t.h.close());

const db = () => t.h.database.db;

/** The sandbox, unreachable: every charge throws (outcome unknown), nothing is charged. */
function unreachable(): PaymentProvider {
  return {
    name: t.provider.name,
    findCharge: (key) => t.provider.findCharge(key),
    attachPaymentMethod: (r) => t.provider.attachPaymentMethod(r),
    async charge(_request: ChargeRequest): Promise<ChargeResult> {
      throw new PaymentProviderError("gateway unreachable", true);
    },
  };
}

function renewRequest(id: string, key: string, body: object, app: Hono<AppEnv> = t.app) {
  return app.request(
    `/api/v1/subscriptions/${id}/renew`,
    json(body, { ...t.h.bearer(t.customer), "idempotency-key": key }),
  );
}

async function claimOf(key: string) {
  const [row] = await db()
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, t.customer.id), eq(idempotencyKeys.key, key)));
  return row;
}

async function pendingPaymentOf(subscriptionId: string) {
  const [row] = await db()
    .select({ payment: payments })
    .from(payments)
    .innerJoin(invoices, eq(invoices.id, payments.invoiceId))
    .where(and(eq(invoices.subscriptionId, subscriptionId), eq(payments.status, "PENDING")));
  return row!.payment;
}

/** What the provider's callback or the reconciliation does: settle with what the provider knows. */
async function settleAsTheProviderSays(paymentId: string, idempotencyKey: string) {
  const result = await t.provider.findCharge(idempotencyKey);
  expect(result?.status).toBe("succeeded");
  const ctx = billingContextOf(t.deps);
  const settled = await settleCharge({
    ctx,
    input: { paymentId, result: result!, actor: { id: null, role: "SYSTEM" } },
  });
  expect(settled.applied).toBe(true);
}

describe("Idempotency-Key after an unknown outcome: unsettled 409s are not stored", () => {
  it("renew: a retry while the payment is unsettled gets 409, unstored; after settlement the renewal", async () => {
    const sub = await subscribed(t);
    const key = "renew-unsettled";
    const body = { paymentMethod: SANDBOX_PAYMENT_METHODS.timeoutAfterCharge };

    // Charged, but the answer was lost: 503, payment PENDING.
    const lost = await renewRequest(sub.id, key, body);
    expect(lost.status).toBe(503);
    const payment = await pendingPaymentOf(sub.id);
    const charges = t.provider.charges.length;

    // The retry finds the same payment; the provider is unreachable, so still unknown: 409.
    const early = await renewRequest(sub.id, key, body, t.appWith({ provider: unreachable() }));
    expect(early.status).toBe(409);
    expect(early.headers.get("idempotent-replayed")).toBeNull();
    expect(await early.json()).toMatchObject({
      code: "CONFLICT",
      paymentId: payment.id,
      paymentStatus: "PENDING",
    });
    expect((await claimOf(key))?.status).toBe("IN_PROGRESS");

    // The provider's callback (or the reconciliation) settles the payment.
    await settleAsTheProviderSays(payment.id, payment.idempotencyKey);

    const after = await renewRequest(sub.id, key, body, t.appWith({ provider: unreachable() }));
    expect(after.status).toBe(200);
    expect(after.headers.get("idempotent-replayed")).toBeNull();
    const renewed = (await after.json()) as SubscriptionBody;
    expect(renewed.currentPeriodStart).toBe(sub.currentPeriodEnd);
    expect(renewed.latestInvoice).toMatchObject({
      status: "PAID",
      periodStart: sub.currentPeriodEnd,
    });

    // From now on that is the key's answer, replayed; one renewal, one charge.
    const replay = await renewRequest(sub.id, key, body);
    expect(replay.status).toBe(200);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(((await replay.json()) as SubscriptionBody).currentPeriodEnd).toBe(
      renewed.currentPeriodEnd,
    );
    expect(await claimOf(key)).toMatchObject({ status: "COMPLETED", responseStatus: 200 });
    const rows = await db()
      .select()
      .from(invoices)
      .where(eq(invoices.subscriptionId, sub.id))
      .orderBy(asc(invoices.periodStart));
    expect(rows.map((i) => i.status)).toEqual(["PAID", "PAID"]);
    expect(t.provider.charges.length).toBe(charges);
  });

  it("renew: a retry while the provider still cannot answer re-sends under the same key and gets the outcome", async () => {
    const sub = await subscribed(t);
    const key = "renew-resend";
    const body = { paymentMethod: SANDBOX_PAYMENT_METHODS.timeoutAfterCharge };
    expect((await renewRequest(sub.id, key, body)).status).toBe(503);
    const charges = t.provider.charges.length;
    // The provider dedupes on the payment's key: the retry learns the first charge's result.
    const retry = await renewRequest(sub.id, key, body);
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as SubscriptionBody).currentPeriodStart).toBe(
      sub.currentPeriodEnd,
    );
    expect(t.provider.charges.length).toBe(charges);
  });

  it("renew: another key's 409 for the unsettled payment is not stored either", async () => {
    const sub = await subscribed(t);
    const body = { paymentMethod: SANDBOX_PAYMENT_METHODS.timeoutAfterCharge };
    expect((await renewRequest(sub.id, "renew-first", body)).status).toBe(503);
    const payment = await pendingPaymentOf(sub.id);

    const other = await renewRequest(sub.id, "renew-second", {});
    expect(other.status).toBe(409);
    expect(await other.json()).toMatchObject({ code: "CONFLICT", paymentStatus: "PENDING" });
    expect(await claimOf("renew-second")).toBeUndefined();

    await settleAsTheProviderSays(payment.id, payment.idempotencyKey);
    // Its own request now: the period after the settled one.
    const later = await renewRequest(sub.id, "renew-second", {
      paymentMethod: SANDBOX_PAYMENT_METHODS.ok,
    });
    expect(later.status).toBe(200);
  });

  it("subscribe: a retry while the first charge is unsettled gets 409, unstored; after settlement the subscription", async () => {
    const service = await seedService(db());
    const body = {
      serviceSlug: service.slug,
      paymentMethod: SANDBOX_PAYMENT_METHODS.timeoutAfterCharge,
    };
    const key = { "idempotency-key": "subscribe-unsettled" };
    const lost = await subscribeRequest(t, t.customer, body, key);
    expect(lost.status).toBe(503);
    const { subscriptionId } = (await lost.json()) as { subscriptionId: string };
    const payment = await pendingPaymentOf(subscriptionId);

    const early = await t
      .appWith({ provider: unreachable() })
      .request("/api/v1/subscriptions", json(body, { ...t.h.bearer(t.customer), ...key }));
    expect(early.status).toBe(409);
    expect(await early.json()).toMatchObject({
      code: "CONFLICT",
      subscriptionId,
      subscriptionStatus: "PENDING",
    });
    expect((await claimOf("subscribe-unsettled"))?.status).toBe("IN_PROGRESS");

    await settleAsTheProviderSays(payment.id, payment.idempotencyKey);

    const after = await subscribeRequest(t, t.customer, body, key);
    expect(after.status).toBe(201);
    expect(after.headers.get("idempotent-replayed")).toBeNull();
    expect(await after.json()).toMatchObject({ id: subscriptionId, status: "ACTIVE" });
    const replay = await subscribeRequest(t, t.customer, body, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
  });
});
