import { billingContextOf, settleCharge, systemActor } from "@minispod/billing";
import type { ChargeRequest, PaymentProvider } from "@minispod/billing/payments";
import { invoices, payments } from "@minispod/db";
import { json, type TestUser } from "@minispod/shared/testing";
import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type SubscriptionBody,
  type SubscriptionsTest,
  setupSubscriptions,
  subscribed,
} from "./helpers";

let t: SubscriptionsTest;
beforeAll(async () => {
  t = await setupSubscriptions();
});
afterAll(() => t.h.close());

const db = () => t.h.database.db;

const renewRequest = (
  id: string,
  user: TestUser,
  headers: Record<string, string> = {},
  app = t.app,
) =>
  app.request(`/api/v1/subscriptions/${id}/renew`, json({}, { ...t.h.bearer(user), ...headers }));

async function invoicesOf(subscriptionId: string) {
  return db()
    .select()
    .from(invoices)
    .where(eq(invoices.subscriptionId, subscriptionId))
    .orderBy(asc(invoices.periodStart));
}

describe("renew: what the customer is told matches what was recorded", () => {
  it("does not answer 200 when the charge succeeded but the payment was meanwhile settled as failed", async () => {
    const sub = await subscribed(t);
    // While the charge is in flight, the reconciliation (or a callback) settles the
    // payment as never received; then the provider answers that it charged.
    const ctx = billingContextOf({ ...t.deps, provider: t.provider });
    const racing: PaymentProvider = {
      name: t.provider.name,
      findCharge: (key) => t.provider.findCharge(key),
      attachPaymentMethod: (r) => t.provider.attachPaymentMethod(r),
      async charge(request: ChargeRequest) {
        const [payment] = await db()
          .select()
          .from(payments)
          .where(eq(payments.idempotencyKey, request.idempotencyKey));
        await settleCharge({
          ctx,
          input: {
            paymentId: payment!.id,
            result: { status: "declined", code: "charge_not_found", message: "never seen" },
            actor: systemActor,
          },
        });
        return t.provider.charge(request);
      },
    };
    const res = await renewRequest(sub.id, t.customer, {}, t.appWith({ provider: racing }));
    expect(res.status).toBe(409);
    const problem = (await res.json()) as { code: string; paymentId?: string };
    expect(problem.code).toBe("CONFLICT");
    expect(problem.paymentId).toBeDefined();
    const rows = await invoicesOf(sub.id);
    expect(rows.map((i) => i.status)).toEqual(["PAID", "OPEN"]);
  });
});

describe("renew: Idempotency-Key", () => {
  it("treats the subscription id case-insensitively, so one key buys one period", async () => {
    const sub = await subscribed(t);
    const key = { "idempotency-key": "renew-case" };
    const charges = t.provider.charges.length;
    const first = await renewRequest(sub.id, t.customer, key);
    const second = await renewRequest(sub.id.toUpperCase(), t.customer, key);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(((await second.json()) as SubscriptionBody).currentPeriodEnd).toBe(
      ((await first.json()) as SubscriptionBody).currentPeriodEnd,
    );
    expect(await invoicesOf(sub.id)).toHaveLength(2);
    expect(t.provider.charges.length).toBe(charges + 1);
  });
});
