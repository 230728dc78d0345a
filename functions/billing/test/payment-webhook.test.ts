import { signPaymentWebhook } from "@minispod/billing/payments";
import {
  invoices,
  paymentProviderEvents,
  payments,
  serviceInstances,
  subscriptions,
} from "@minispod/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BillingTest,
  deliverCallback,
  outboxTypes,
  pendingFirstCharge as pendingFirstChargeOf,
  setupBilling,
  subscribeVia,
  WEBHOOK_SECRET,
} from "./helpers";

let t: BillingTest;
beforeAll(async () => {
  t = await setupBilling();
});
afterAll(() => t.h.close());

const db = () => t.h.database.db;
const nowSeconds = () => Math.floor(Date.now() / 1000);

const deliver = (body: string, signature: string | undefined, app = t.app) =>
  deliverCallback(t, body, signature, app);
const pendingFirstCharge = () => pendingFirstChargeOf(t);

async function state(subscriptionId: string) {
  const [subscription] = await db()
    .select()
    .from(subscriptions)
    .where(eq(subscriptions.id, subscriptionId));
  const invoiceRows = await db()
    .select()
    .from(invoices)
    .where(eq(invoices.subscriptionId, subscriptionId));
  const paymentRows = await db()
    .select()
    .from(payments)
    .where(eq(payments.invoiceId, invoiceRows[0]!.id));
  const instances = await db()
    .select()
    .from(serviceInstances)
    .where(eq(serviceInstances.subscriptionId, subscriptionId));
  return {
    subscription: subscription!.status,
    invoices: invoiceRows.map((i) => i.status),
    payments: paymentRows.map((p) => p.status),
    instances: instances.length,
    events: [
      ...(await outboxTypes(db(), subscriptionId)),
      ...(await outboxTypes(db(), invoiceRows[0]!.id)),
      ...(await outboxTypes(db(), paymentRows[0]!.id)),
    ].sort(),
  };
}

async function providerEventCount() {
  return (await db().select().from(paymentProviderEvents)).length;
}

describe("POST /api/v1/payments/webhook: processing", () => {
  it("settles a PENDING first charge on charge.succeeded: ACTIVE, PAID, instance, events", async () => {
    const { subscriptionId, payment } = await pendingFirstCharge();
    const hook = t.provider.webhookFor(payment.idempotencyKey, { secret: WEBHOOK_SECRET })!;
    const res = await deliver(hook.body, hook.headers["payment-signature"]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, outcome: "processed" });
    expect(await state(subscriptionId)).toEqual({
      subscription: "ACTIVE",
      invoices: ["PAID"],
      payments: ["SUCCEEDED"],
      instances: 1,
      events: ["invoice.paid", "payment.succeeded", "subscription.activated"],
    });
    const [row] = await db().select().from(payments).where(eq(payments.id, payment.id));
    expect(row?.providerPaymentId).toMatch(/^sbx_ch_/);
  });

  it("leaves no card on file when charge.succeeded says the method is not reusable", async () => {
    const { subscriptionId, payment } = await pendingFirstCharge();
    const body = JSON.stringify({
      id: `evt_once_${payment.id}`,
      type: "charge.succeeded",
      data: {
        idempotencyKey: payment.idempotencyKey,
        providerPaymentId: "ch_once",
        reusable: false,
      },
    });
    const res = await deliver(body, signPaymentWebhook(WEBHOOK_SECRET, body, nowSeconds()));
    expect(await res.json()).toEqual({ received: true, outcome: "processed" });
    const [row] = await db()
      .select()
      .from(subscriptions)
      .where(eq(subscriptions.id, subscriptionId));
    expect(row).toMatchObject({ status: "ACTIVE", cardOnFile: false });
  });

  it("changes nothing when the same event is delivered again", async () => {
    const { subscriptionId, payment } = await pendingFirstCharge();
    const hook = t.provider.webhookFor(payment.idempotencyKey, {
      secret: WEBHOOK_SECRET,
      eventId: "evt_replay",
    })!;
    expect((await deliver(hook.body, hook.headers["payment-signature"])).status).toBe(200);
    const after = await state(subscriptionId);
    const stored = await providerEventCount();

    const replay = await deliver(hook.body, hook.headers["payment-signature"]);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ received: true, outcome: "duplicate" });
    expect(await state(subscriptionId)).toEqual(after);
    expect(await providerEventCount()).toBe(stored);

    // The provider's own retry under a new event id is recorded but settles nothing twice.
    const retried = t.provider.webhookFor(payment.idempotencyKey, { secret: WEBHOOK_SECRET })!;
    const res = await deliver(retried.body, retried.headers["payment-signature"]);
    expect(await res.json()).toEqual({ received: true, outcome: "recorded" });
    expect(await state(subscriptionId)).toEqual(after);
  });

  it("fails a PENDING first charge on charge.failed: FAILED, VOID, payment.failed", async () => {
    const { subscriptionId, payment } = await pendingFirstCharge();
    const body = JSON.stringify({
      id: "evt_failed_1",
      type: "charge.failed",
      data: {
        idempotencyKey: payment.idempotencyKey,
        failureCode: "card_declined",
        failureMessage: "Declined.",
      },
    });
    const res = await deliver(body, signPaymentWebhook(WEBHOOK_SECRET, body, nowSeconds()));
    expect(await res.json()).toEqual({ received: true, outcome: "processed" });
    expect(await state(subscriptionId)).toEqual({
      subscription: "FAILED",
      invoices: ["VOID"],
      payments: ["FAILED"],
      instances: 0,
      events: ["payment.failed"],
    });
  });

  it("matches by providerPaymentId too, and records refunds and unknown payments without changes", async () => {
    const { res, body: sub } = await subscribeVia(t, t.customer);
    expect(res.status).toBe(201);
    const [paid] = await db()
      .select()
      .from(payments)
      .where(eq(payments.invoiceId, sub.latestInvoice!.id));
    const before = await state(sub.id);
    const refund = JSON.stringify({
      id: "evt_refund_1",
      type: "charge.refunded",
      data: { providerPaymentId: paid!.providerPaymentId },
    });
    const refunded = await deliver(
      refund,
      signPaymentWebhook(WEBHOOK_SECRET, refund, nowSeconds()),
    );
    expect(await refunded.json()).toEqual({ received: true, outcome: "recorded" });
    expect(await state(sub.id)).toEqual(before);

    const stray = JSON.stringify({
      id: "evt_stray",
      type: "charge.succeeded",
      data: { idempotencyKey: "pay_nope" },
    });
    const unmatched = await deliver(stray, signPaymentWebhook(WEBHOOK_SECRET, stray, nowSeconds()));
    expect(await unmatched.json()).toEqual({ received: true, outcome: "unmatched" });
  });

  it("answers 400 to a signed body that is not a valid event", async () => {
    for (const body of ["{nope", "[]", JSON.stringify({ type: "charge.succeeded", data: {} })]) {
      const res = await deliver(body, signPaymentWebhook(WEBHOOK_SECRET, body, nowSeconds()));
      expect(res.status, body).toBe(400);
    }
  });
});

describe("POST /api/v1/payments/webhook: signatures", () => {
  it("answers 401 INVALID_SIGNATURE to missing, forged, tampered or stale signatures, changing nothing", async () => {
    const { subscriptionId, payment } = await pendingFirstCharge();
    const hook = t.provider.webhookFor(payment.idempotencyKey, { secret: WEBHOOK_SECRET })!;
    const before = await state(subscriptionId);
    const stored = await providerEventCount();
    const t0 = nowSeconds();
    const attempts: [string, string | undefined][] = [
      [hook.body, undefined],
      [hook.body, "garbage"],
      [hook.body, signPaymentWebhook("not-the-secret-at-all", hook.body, t0)],
      [hook.body.replace("charge.succeeded", "charge.failed"), hook.headers["payment-signature"]],
      [hook.body, signPaymentWebhook(WEBHOOK_SECRET, hook.body, t0 - 301)],
      [hook.body, signPaymentWebhook(WEBHOOK_SECRET, hook.body, t0 + 301)],
    ];
    for (const [body, signature] of attempts) {
      const res = await deliver(body, signature);
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(((await res.json()) as { code: string }).code).toBe("INVALID_SIGNATURE");
    }
    expect(await state(subscriptionId)).toEqual(before);
    expect(await providerEventCount()).toBe(stored);
  });

  it("honours PAYMENT_WEBHOOK_TOLERANCE", async () => {
    const app = t.appWithEnv({ PAYMENT_WEBHOOK_TOLERANCE: 10 });
    const body = JSON.stringify({ id: "evt_tolerance", type: "charge.refunded", data: {} });
    expect(
      (await deliver(body, signPaymentWebhook(WEBHOOK_SECRET, body, nowSeconds() - 60), app))
        .status,
    ).toBe(401);
    expect(
      (await deliver(body, signPaymentWebhook(WEBHOOK_SECRET, body, nowSeconds() - 5), app)).status,
    ).toBe(200);
  });

  it("accepts any v1 matching any configured secret, for rotation", async () => {
    const rotated = "whsec_new_secret_0123456789";
    const app = t.appWithEnv({ PAYMENT_WEBHOOK_SECRET: [rotated, WEBHOOK_SECRET] });
    const body = JSON.stringify({ id: "evt_rotation_1", type: "charge.refunded", data: {} });
    const both = signPaymentWebhook(["some-retired-secret", rotated], body, nowSeconds());
    expect((await deliver(body, both, app)).status).toBe(200);
    const oldOnly = JSON.stringify({ id: "evt_rotation_2", type: "charge.refunded", data: {} });
    expect(
      (await deliver(oldOnly, signPaymentWebhook(WEBHOOK_SECRET, oldOnly, nowSeconds()), app))
        .status,
    ).toBe(200);
  });

  it("answers 503 when no secret is configured, so the provider retries later", async () => {
    const app = t.appWithEnv({ PAYMENT_WEBHOOK_SECRET: undefined });
    const body = JSON.stringify({ id: "evt_unconfigured", type: "charge.refunded", data: {} });
    const res = await deliver(body, signPaymentWebhook(WEBHOOK_SECRET, body, nowSeconds()), app);
    expect(res.status).toBe(503);
  });

  it("answers 415 to a body that is not JSON", async () => {
    const res = await t.app.request("/api/v1/payments/webhook", {
      method: "POST",
      headers: { "content-type": "text/plain", "payment-signature": "t=1,v1=00" },
      body: "hello",
    });
    expect(res.status).toBe(415);
  });
});
