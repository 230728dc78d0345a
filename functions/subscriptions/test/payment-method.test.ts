import { SANDBOX_PAYMENT_METHODS } from "@minispod/billing/payments";
import { auditLog, invoices, payments } from "@minispod/db";
import { json, runRouteSecurityTests } from "@minispod/shared/testing";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  outboxFor,
  renewalSweep,
  type SubscriptionBody,
  type SubscriptionsTest,
  setupAtTime,
  subscribed,
  subscriptionRow,
} from "./helpers";

type Updated = SubscriptionBody & {
  overdueRetry: { outcome: string; declineCode: string | null; message: string } | null;
};

let t: SubscriptionsTest;
let target: SubscriptionBody;
const START = new Date("2026-05-01T09:00:00.000Z");
beforeAll(async () => {
  ({ t, target } = await setupAtTime(START, { BILLING_DUNNING_DAYS: "1,3,5" }));
});
afterAll(() => t.h.close());

const db = () => t.h.database.db;
const put = (id: string, body: unknown, user = t.customer) =>
  t.app.request(`/api/v1/subscriptions/${id}/payment-method`, json(body, t.h.bearer(user), "PUT"));
const row = (id: string) => subscriptionRow(t, id);

/** A subscription the sweep failed to renew at its period's end: PAST_DUE, retry in a day. */
async function pastDue() {
  t.h.clock.now = START;
  const sub = await subscribed(t, t.customer, {
    paymentMethod: SANDBOX_PAYMENT_METHODS.ok,
  });
  const end = new Date(sub.currentPeriodEnd);
  // The card on file starts declining: the renewal at the period's end fails.
  await put(sub.id, { paymentMethod: SANDBOX_PAYMENT_METHODS.declined });
  await renewalSweep(t, end, 3600);
  expect(await row(sub.id)).toMatchObject({ status: "PAST_DUE", renewalAttempts: 1 });
  return { sub, end };
}

describe("PUT /api/v1/subscriptions/:id/payment-method", () => {
  it("keeps the new method with the provider, charges renewals on it, and tells the customer", async () => {
    t.h.clock.now = START;
    const sub = await subscribed(t);
    const res = await put(sub.id, { paymentMethod: SANDBOX_PAYMENT_METHODS.insufficientFunds });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Updated;
    expect(body).toMatchObject({
      id: sub.id,
      status: "ACTIVE",
      cardOnFile: true,
      overdueRetry: null,
    });
    expect((await row(sub.id)).paymentMethod).toBe(SANDBOX_PAYMENT_METHODS.insufficientFunds);
    const event = (await outboxFor(db(), sub.id)).at(-1);
    expect(event?.type).toBe("dev.minispod.subscription.payment_method_updated");
    expect(JSON.stringify(event?.data)).not.toContain("pm_sandbox");
    const [audit] = await db()
      .select()
      .from(auditLog)
      .where(
        and(
          eq(auditLog.resourceId, sub.id),
          eq(auditLog.action, "subscription.payment_method_updated"),
        ),
      );
    expect(audit).toMatchObject({ actorId: t.customer.id, ownerId: t.customer.id });
  });

  it("retries a PAST_DUE subscription at once on the new card and makes it ACTIVE again", async () => {
    const { sub, end } = await pastDue();
    t.h.clock.now = new Date(end.getTime() + 3 * 3_600_000);
    const res = await put(sub.id, { paymentMethod: SANDBOX_PAYMENT_METHODS.ok });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Updated;
    expect(body.overdueRetry).toMatchObject({ outcome: "succeeded" });
    expect(body).toMatchObject({ status: "ACTIVE", currentPeriodStart: end.toISOString() });
    const after = await row(sub.id);
    expect(after).toMatchObject({
      status: "ACTIVE",
      renewalAttempts: 0,
      nextRenewalAttemptAt: null,
      graceEndsAt: null,
    });
    // The overdue period's invoice was paid (the same one dunning was retrying).
    const billed = await db().select().from(invoices).where(eq(invoices.subscriptionId, sub.id));
    expect(billed.map((i) => i.status).sort()).toEqual(["PAID", "PAID"]);
    const types = (await outboxFor(db(), sub.id)).map((e) => e.type.replace("dev.minispod.", ""));
    expect(types.slice(-2)).toEqual([
      "subscription.payment_method_updated",
      "subscription.renewed",
    ]);
  });

  it("keeps a PAST_DUE subscription in dunning when the new card declines too, and says so", async () => {
    const { sub } = await pastDue();
    const res = await put(sub.id, { paymentMethod: SANDBOX_PAYMENT_METHODS.insufficientFunds });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Updated;
    expect(body.overdueRetry).toMatchObject({
      outcome: "declined",
      declineCode: "insufficient_funds",
    });
    expect(await row(sub.id)).toMatchObject({ status: "PAST_DUE", renewalAttempts: 1 });
  });

  it("answers 402 to a method the provider will not keep, changing nothing", async () => {
    const before = await row(target.id);
    for (const method of ["pm_unknown", SANDBOX_PAYMENT_METHODS.once]) {
      const res = await put(target.id, { paymentMethod: method });
      expect(res.status).toBe(402);
      expect(((await res.json()) as { code: string }).code).toBe("PAYMENT_DECLINED");
    }
    expect((await row(target.id)).paymentMethod).toBe(before.paymentMethod);
  });

  it("answers 503 when the provider does not answer", async () => {
    const res = await put(target.id, { paymentMethod: SANDBOX_PAYMENT_METHODS.error });
    expect(res.status).toBe(503);
  });

  it("answers 409 on an ended subscription", async () => {
    t.h.clock.now = START;
    const sub = await subscribed(t);
    await t.app.request(
      `/api/v1/subscriptions/${sub.id}/cancel`,
      json({ immediately: true }, t.h.bearer(t.customer)),
    );
    expect((await put(sub.id, { paymentMethod: SANDBOX_PAYMENT_METHODS.ok })).status).toBe(409);
  });

  it("answers 400 to a missing, empty or malformed method", async () => {
    for (const body of [
      {},
      { paymentMethod: "" },
      { paymentMethod: 5 },
      { paymentMethod: "a b" },
    ]) {
      const res = await put(target.id, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe("VALIDATION_FAILED");
    }
  });

  it("answers 404 to another customer and asks the provider nothing", async () => {
    const res = await put(target.id, { paymentMethod: SANDBOX_PAYMENT_METHODS.ok }, t.other);
    expect(res.status).toBe(404);
    const charged = await db().select().from(payments).where(eq(payments.userId, t.other.id));
    expect(charged).toEqual([]);
  });
});

runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
  method: "PUT",
  path: () => `/api/v1/subscriptions/${target.id}/payment-method`,
  body: { paymentMethod: SANDBOX_PAYMENT_METHODS.ok },
});
