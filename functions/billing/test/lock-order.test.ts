import { reconcilePendingPayments } from "@minispod/billing";
import { SANDBOX_PAYMENT_METHODS } from "@minispod/billing/payments";
import { invoices, outboxEvents, payments, subscriptions } from "@minispod/db";
import { json } from "@minispod/shared/testing";
import { and, eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BillingTest, setupBilling, subscribeVia, WEBHOOK_SECRET } from "./helpers";

/**
 * Settling (callback, reconciliation, the charging request) and the
 * subscription's own changes (renew, cancel, auto-renew) take their row locks
 * in one order: subscription, then invoice, then payment. Run against each
 * other on one subscription they must serialize, never deadlock (PostgreSQL
 * would cancel one side, and that request would answer 500).
 */

let t: BillingTest;
beforeAll(async () => {
  t = await setupBilling();
});
afterAll(() => t.h.close());

const db = () => t.h.database.db;
const ROUNDS = 20;

function deliver(hook: { body: string; headers: Record<string, string> }) {
  return t.app.request("/api/v1/payments/webhook", {
    method: "POST",
    headers: hook.headers,
    body: hook.body,
  });
}

function lifecycle(subscriptionId: string, action: "cancel" | "renew", body: object = {}) {
  return t.subscriptions.request(
    `/api/v1/subscriptions/${subscriptionId}/${action}`,
    json(body, t.h.bearer(t.customer)),
  );
}

function autoRenew(subscriptionId: string, value: boolean) {
  return t.subscriptions.request(`/api/v1/subscriptions/${subscriptionId}`, {
    method: "PATCH",
    headers: { "content-type": "application/json", ...t.h.bearer(t.customer) },
    body: JSON.stringify({ autoRenew: value }),
  });
}

async function activeSubscription(): Promise<string> {
  const { res, body } = await subscribeVia(t, t.customer);
  expect(res.status).toBe(201);
  return body.id;
}

/** The subscription's payments (oldest first) with their invoices. */
async function paymentsOf(subscriptionId: string) {
  return db()
    .select({ payment: payments, invoice: invoices })
    .from(payments)
    .innerJoin(invoices, eq(invoices.id, payments.invoiceId))
    .where(eq(invoices.subscriptionId, subscriptionId))
    .orderBy(payments.createdAt);
}

/** No 5xx, at most one PAID invoice per period, every success settled (and announced) once. */
async function expectConsistent(subscriptionId: string, statuses: number[]) {
  expect(statuses.filter((s) => s >= 500)).toEqual([]);
  const invoiceRows = await db()
    .select()
    .from(invoices)
    .where(eq(invoices.subscriptionId, subscriptionId));
  const paidPerPeriod = new Map<number, number>();
  for (const invoice of invoiceRows.filter((i) => i.status === "PAID")) {
    const key = invoice.periodStart.getTime();
    paidPerPeriod.set(key, (paidPerPeriod.get(key) ?? 0) + 1);
  }
  expect([...paidPerPeriod.values()].every((n) => n === 1)).toBe(true);
  const rows = await paymentsOf(subscriptionId);
  expect(rows.every((r) => r.payment.status !== "PENDING")).toBe(true);
  for (const { payment, invoice } of rows) {
    if (payment.status === "SUCCEEDED") expect(invoice.status).toBe("PAID");
    const announced = await db()
      .select({ type: outboxEvents.type })
      .from(outboxEvents)
      .where(
        and(
          eq(outboxEvents.subject, payment.id),
          inArray(outboxEvents.type, [
            "dev.minispod.payment.succeeded",
            "dev.minispod.payment.failed",
          ]),
        ),
      );
    expect(announced).toHaveLength(1);
  }
  const [subscription] = await db()
    .select()
    .from(subscriptions)
    .where(eq(subscriptions.id, subscriptionId));
  // The running period is a paid one.
  expect(
    invoiceRows.some(
      (i) =>
        i.status === "PAID" && i.periodEnd.getTime() === subscription!.currentPeriodEnd.getTime(),
    ),
  ).toBe(true);
  return { subscription: subscription!, invoices: invoiceRows, payments: rows };
}

describe("lock order: settling vs renew / cancel on one subscription", () => {
  it(`settles a PENDING renewal by callback while cancel, renew and auto-renew run (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const subscriptionId = await activeSubscription();
      // The renewal charged, but its answer was lost: payment PENDING, invoice OPEN.
      const lost = await lifecycle(subscriptionId, "renew", {
        paymentMethod: SANDBOX_PAYMENT_METHODS.timeoutAfterCharge,
      });
      expect(lost.status).toBe(503);
      const pending = (await paymentsOf(subscriptionId)).find(
        (r) => r.payment.status === "PENDING",
      )!;
      const hook = t.provider.webhookFor(pending.payment.idempotencyKey, {
        secret: WEBHOOK_SECRET,
      })!;

      const responses = await Promise.all([
        deliver(hook),
        round % 2 === 0
          ? lifecycle(subscriptionId, "cancel", { immediately: true })
          : lifecycle(subscriptionId, "renew", { paymentMethod: SANDBOX_PAYMENT_METHODS.ok }),
        reconcilePendingPayments({ ctx: t.ctx, provider: t.provider, olderThan: new Date() }),
        autoRenew(subscriptionId, round % 3 === 0),
      ]);
      const [callback, change, , patch] = responses;
      const statuses = [callback.status, change.status, patch.status];
      expect([200, 409]).toContain(change.status);
      expect([200, 409]).toContain(patch.status);
      const state = await expectConsistent(subscriptionId, statuses);
      const settled = state.payments.find((r) => r.payment.id === pending.payment.id)!;
      expect(settled.payment.status).toBe("SUCCEEDED");
      expect(settled.invoice.status).toBe("PAID");
    }
  });

  it(`takes a late callback for a declined renewal while cancel or renew runs (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const subscriptionId = await activeSubscription();
      // A declined renewal leaves its invoice OPEN (for dunning) and the payment FAILED;
      // the provider's own charge.failed callback arrives afterwards.
      const declined = await lifecycle(subscriptionId, "renew", {
        paymentMethod: SANDBOX_PAYMENT_METHODS.declined,
      });
      expect(declined.status).toBe(402);
      const failed = (await paymentsOf(subscriptionId)).find((r) => r.payment.status === "FAILED")!;
      const hook = () =>
        t.provider.webhookFor(failed.payment.idempotencyKey, { secret: WEBHOOK_SECRET })!;

      const responses = await Promise.all([
        deliver(hook()),
        round % 2 === 0
          ? lifecycle(subscriptionId, "cancel", { immediately: true })
          : lifecycle(subscriptionId, "renew"),
        deliver(hook()),
        autoRenew(subscriptionId, round % 3 === 0),
      ]);
      const statuses = responses.map((r) => r.status);
      expect(responses[0]!.status).toBe(200);
      expect(responses[2]!.status).toBe(200);
      expect(responses[1]!.status).toBe(200);
      const state = await expectConsistent(subscriptionId, statuses);
      expect(state.subscription.status).toBe(round % 2 === 0 ? "CANCELLED" : "ACTIVE");
    }
  });
});
