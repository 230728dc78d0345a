import { signPaymentWebhook } from "@minispod/billing/payments";
import { invoices, paymentProviderEvents, payments, subscriptions } from "@minispod/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BillingTest,
  deliverCallback,
  pendingFirstCharge as pendingFirstChargeOf,
  setupBilling,
  WEBHOOK_SECRET,
} from "./helpers";

let t: BillingTest;
beforeAll(async () => {
  t = await setupBilling();
});
afterAll(() => t.h.close());

const db = () => t.h.database.db;
const nowSeconds = () => Math.floor(Date.now() / 1000);

const deliver = (body: string) =>
  deliverCallback(t, body, signPaymentWebhook(WEBHOOK_SECRET, body, nowSeconds()));
const pendingFirstCharge = () => pendingFirstChargeOf(t);

async function statuses(subscriptionId: string, paymentId: string) {
  const [subscription] = await db()
    .select()
    .from(subscriptions)
    .where(eq(subscriptions.id, subscriptionId));
  const [invoice] = await db()
    .select()
    .from(invoices)
    .where(eq(invoices.subscriptionId, subscriptionId));
  const [payment] = await db().select().from(payments).where(eq(payments.id, paymentId));
  return [subscription!.status, invoice!.status, payment!.status];
}

describe("POST /api/v1/payments/webhook: amount and currency", () => {
  it("does not mark a payment paid when the callback's amount differs from the payment's", async () => {
    const { subscriptionId, payment } = await pendingFirstCharge();
    const body = JSON.stringify({
      id: "evt_amount_mismatch",
      type: "charge.succeeded",
      data: {
        idempotencyKey: payment.idempotencyKey,
        providerPaymentId: "sbx_ch_cheap",
        amountMinor: 1,
        currency: payment.currency,
      },
    });
    const res = await deliver(body);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, outcome: "mismatch" });
    expect(await statuses(subscriptionId, payment.id)).toEqual(["PENDING", "OPEN", "PENDING"]);
    // Stored for a human to look at, and a replay of it is a duplicate.
    const stored = await db()
      .select()
      .from(paymentProviderEvents)
      .where(eq(paymentProviderEvents.providerEventId, "evt_amount_mismatch"));
    expect(stored).toHaveLength(1);
    expect(await (await deliver(body)).json()).toEqual({ received: true, outcome: "duplicate" });
  });

  it("does not mark a payment paid when the callback's currency differs from the payment's", async () => {
    const { subscriptionId, payment } = await pendingFirstCharge();
    const body = JSON.stringify({
      id: "evt_currency_mismatch",
      type: "charge.succeeded",
      data: {
        idempotencyKey: payment.idempotencyKey,
        providerPaymentId: "sbx_ch_other_currency",
        amountMinor: payment.amountMinor,
        currency: "JPY",
      },
    });
    expect(await (await deliver(body)).json()).toEqual({ received: true, outcome: "mismatch" });
    expect(await statuses(subscriptionId, payment.id)).toEqual(["PENDING", "OPEN", "PENDING"]);
  });

  it("settles when amount and currency match (currency compared case-insensitively)", async () => {
    const { subscriptionId, payment } = await pendingFirstCharge();
    const body = JSON.stringify({
      id: "evt_amount_match",
      type: "charge.succeeded",
      data: {
        idempotencyKey: payment.idempotencyKey,
        providerPaymentId: "sbx_ch_exact",
        amountMinor: payment.amountMinor,
        currency: payment.currency.toLowerCase(),
      },
    });
    expect(await (await deliver(body)).json()).toEqual({ received: true, outcome: "processed" });
    expect(await statuses(subscriptionId, payment.id)).toEqual(["ACTIVE", "PAID", "SUCCEEDED"]);
  });

  it("records a partial refund without calling it a mismatch", async () => {
    const { payment } = await pendingFirstCharge();
    const body = JSON.stringify({
      id: "evt_partial_refund",
      type: "charge.refunded",
      data: { idempotencyKey: payment.idempotencyKey, amountMinor: 100, currency: "EUR" },
    });
    expect(await (await deliver(body)).json()).toEqual({ received: true, outcome: "recorded" });
  });

  it("answers 400 to a signed callback whose amount or currency is not well-formed", async () => {
    const { payment } = await pendingFirstCharge();
    for (const [i, data] of [
      { amountMinor: "500" },
      { amountMinor: 5.5 },
      { currency: 978 },
    ].entries()) {
      const body = JSON.stringify({
        id: `evt_bad_amount_${i}`,
        type: "charge.succeeded",
        data: { idempotencyKey: payment.idempotencyKey, providerPaymentId: "sbx_ch_x", ...data },
      });
      expect((await deliver(body)).status, JSON.stringify(data)).toBe(400);
    }
  });

  it("settles a callback whose strings carry \\u0000 (which PostgreSQL cannot store) instead of failing with 500", async () => {
    const { subscriptionId, payment } = await pendingFirstCharge();
    const body = JSON.stringify({
      id: "evt_nul_\u0000",
      type: "charge.failed",
      data: {
        idempotencyKey: payment.idempotencyKey,
        failureCode: "card_declined",
        failureMessage: "Declined\u0000 by the issuer.",
        "odd\u0000key": true,
      },
    });
    const res = await deliver(body);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, outcome: "processed" });
    expect(await statuses(subscriptionId, payment.id)).toEqual(["FAILED", "VOID", "FAILED"]);
    expect(await (await deliver(body)).json()).toEqual({ received: true, outcome: "duplicate" });
  });
});
