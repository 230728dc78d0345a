import { renew } from "@minispod/billing";
import { SANDBOX_PAYMENT_METHODS } from "@minispod/billing/payments";
import { auditLog, outboxEvents, payments } from "@minispod/db";
import { eventCatalogue } from "@minispod/shared";
import { and, eq, inArray } from "drizzle-orm";
import * as v from "valibot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  activeSubscription,
  addDays,
  cron,
  eventTypes,
  hours,
  START,
  type SweeperTest,
  setupSweeper,
  state,
} from "./helpers";

let t: SweeperTest;
beforeAll(async () => {
  t = await setupSweeper({ BILLING_RENEWAL_WINDOW: "24h", BILLING_DUNNING_DAYS: "1,3,5" });
});
afterAll(() => t.h.close());

describe("billing-sweeper walk-through on the injected clock", () => {
  it("renews, then on a decline goes PAST_DUE, retries on schedule and recovers", async () => {
    const sub = await activeSubscription(t);
    const paymentIds = (await state(t, sub.id)).payments.map((p) => p.id);

    // Outside the renewal window nothing happens.
    expect((await cron(t, "renew", hours(sub.end, -25))).attempted).toBe(0);
    // Inside it: charged, the period moves on.
    const first = await cron(t, "renew", hours(sub.end, -23));
    expect(first).toMatchObject({ attempted: 1, succeeded: 1, failed: 0 });
    const renewed = await state(t, sub.id);
    expect(renewed.subscription.status).toBe("ACTIVE");
    expect(renewed.subscription.currentPeriodStart.getTime()).toBe(sub.end.getTime());
    const end2 = renewed.subscription.currentPeriodEnd;
    expect(renewed.invoices.map((i) => i.status)).toEqual(["PAID", "PAID"]);
    // The idempotency key was stored with the payment, before the charge: attempt 0 is
    // the one charge sent inside the window, before the period ends.
    const renewal = renewed.payments.find((p) => !paymentIds.includes(p.id))!;
    expect(renewal.idempotencyKey).toBe(`ren_${renewed.invoices[1]!.id}_0`);
    expect(t.sandbox.charges.map((c) => c.request.idempotencyKey)).toContain(
      renewal.idempotencyKey,
    );
    // Running again in the same window charges nothing more.
    expect((await cron(t, "renew", hours(sub.end, -22))).attempted).toBe(0);
    // One transaction writes them all (same timestamp), so compare as a set.
    expect((await eventTypes(t, [sub.id, renewed.invoices[1]!.id, renewal.id])).sort()).toEqual([
      "invoice.paid",
      "payment.succeeded",
      "subscription.activated",
      "subscription.renewed",
    ]);

    // The batch settlement builds the events in SQL: exactly the catalogue's shapes and data.
    const written = await t.h.database.db
      .select({ type: outboxEvents.type, subject: outboxEvents.subject, data: outboxEvents.data })
      .from(outboxEvents)
      .where(inArray(outboxEvents.subject, [sub.id, renewed.invoices[1]!.id, renewal.id]));
    for (const event of written) {
      const type = event.type.replace("dev.minispod.", "") as keyof typeof eventCatalogue;
      expect(v.safeParse(eventCatalogue[type], event.data).success).toBe(true);
    }
    const renewedEvent = written.find((e) => e.type.endsWith("subscription.renewed"))!;
    expect(renewedEvent.data).toMatchObject({
      subscriptionId: sub.id,
      userId: t.customer.id,
      serviceId: sub.service.id,
      status: "ACTIVE",
      previousStatus: "ACTIVE",
      currentPeriodStart: sub.end.toISOString(),
      currentPeriodEnd: end2.toISOString(),
    });
    expect(written.find((e) => e.type.endsWith("payment.succeeded"))!.data).toMatchObject({
      paymentId: renewal.id,
      invoiceId: renewed.invoices[1]!.id,
      amountMinor: sub.service.priceMinor,
      currency: sub.service.currency,
    });
    const [audit] = await t.h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.resourceId, sub.id), eq(auditLog.action, "subscription.renewed")));
    expect(audit).toMatchObject({ actorId: null, actorRole: "SYSTEM", ownerId: t.customer.id });
    expect(audit?.metadata).toMatchObject({ paymentId: renewal.id });

    // Next period: the card is declined inside the window. The period is paid until its end:
    // still ACTIVE, retried once at the end.
    t.steer(t.customer.id, "decline");
    const early = await cron(t, "renew", hours(end2, -1));
    expect(early).toMatchObject({ attempted: 1, succeeded: 0, failed: 1 });
    let now = await state(t, sub.id);
    expect(now.subscription).toMatchObject({ status: "ACTIVE", renewalAttempts: 0 });
    expect(now.subscription.nextRenewalAttemptAt?.getTime()).toBe(end2.getTime());
    expect((await cron(t, "renew", hours(end2, -0.5))).attempted).toBe(0);
    // At the end the retry declines too: now PAST_DUE, on the dunning schedule.
    const declined = await cron(t, "renew", end2);
    expect(declined).toMatchObject({ attempted: 1, succeeded: 0, failed: 1 });
    now = await state(t, sub.id);
    expect(now.subscription).toMatchObject({ status: "PAST_DUE", renewalAttempts: 1 });
    expect(now.subscription.nextRenewalAttemptAt?.getTime()).toBe(addDays(end2, 1).getTime());
    expect(now.subscription.graceEndsAt?.getTime()).toBe(addDays(end2, 5).getTime());
    expect(now.invoices.at(-1)?.status).toBe("OPEN");
    const types = await eventTypes(t, [sub.id, ...now.payments.map((p) => p.id)]);
    expect(types.slice(-2).sort()).toEqual(["payment.failed", "subscription.past_due"]);
    expect(types.filter((e) => e === "subscription.past_due")).toHaveLength(1);

    // Not before the retry time; the retry declines again: still PAST_DUE, no second past_due.
    expect((await cron(t, "renew", hours(end2, 12))).attempted).toBe(0);
    expect((await cron(t, "renew", hours(addDays(end2, 1), 1))).failed).toBe(1);
    now = await state(t, sub.id);
    expect(now.subscription).toMatchObject({ status: "PAST_DUE", renewalAttempts: 2 });
    expect(now.subscription.nextRenewalAttemptAt?.getTime()).toBe(addDays(end2, 3).getTime());
    const afterRetry = await eventTypes(t, [sub.id, ...now.payments.map((p) => p.id)]);
    expect(afterRetry.filter((e) => e === "subscription.past_due")).toHaveLength(1);
    expect(afterRetry.filter((e) => e === "payment.failed")).toHaveLength(3);

    // The card works again: the next retry recovers, on the same invoice.
    t.steer(t.customer.id, "ok");
    expect((await cron(t, "renew", hours(addDays(end2, 3), 1))).succeeded).toBe(1);
    now = await state(t, sub.id);
    expect(now.subscription).toMatchObject({
      status: "ACTIVE",
      renewalAttempts: 0,
      nextRenewalAttemptAt: null,
      graceEndsAt: null,
    });
    expect(now.subscription.currentPeriodStart.getTime()).toBe(end2.getTime());
    expect(now.invoices.map((i) => i.status)).toEqual(["PAID", "PAID", "PAID"]);
    expect(now.payments.map((p) => p.status)).toEqual([
      "SUCCEEDED",
      "SUCCEEDED",
      "FAILED",
      "FAILED",
      "FAILED",
      "SUCCEEDED",
    ]);
    const all = await eventTypes(t, [sub.id]);
    expect(all.at(-1)).toBe("subscription.renewed");
    // Every step of the dunning is the platform's act on the customer's subscription.
    const dunning = await t.h.database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.resourceId, sub.id));
    expect(dunning.filter((a) => a.actorRole === "SYSTEM").map((a) => a.action)).toEqual(
      expect.arrayContaining([
        "subscription.past_due",
        "subscription.renewal_payment_declined",
        "subscription.renewed",
      ]),
    );
    expect(dunning.every((a) => a.ownerId === t.customer.id)).toBe(true);
  });

  it("charges a renewal with the method of the latest paid invoice", async () => {
    const sub = await activeSubscription(t);
    const first = (await state(t, sub.id)).payments[0]!;
    await t.h.database.db
      .update(payments)
      .set({ paymentMethod: SANDBOX_PAYMENT_METHODS.ok })
      .where(eq(payments.id, first.id));
    expect(await cron(t, "renew", hours(sub.end, -1))).toMatchObject({ succeeded: 1 });
    expect(t.sandbox.charges.at(-1)?.request.paymentMethod).toBe(SANDBOX_PAYMENT_METHODS.ok);

    // The customer paid the newest invoice with another card: the next renewal uses that one.
    const renewed = await state(t, sub.id);
    const latest = renewed.payments.at(-1)!;
    await t.h.database.db
      .update(payments)
      .set({ paymentMethod: SANDBOX_PAYMENT_METHODS.insufficientFunds })
      .where(eq(payments.id, latest.id));
    const end2 = renewed.subscription.currentPeriodEnd;
    expect(await cron(t, "renew", hours(end2, -1))).toMatchObject({ failed: 1 });
    expect(t.sandbox.charges.at(-1)?.request.paymentMethod).toBe(
      SANDBOX_PAYMENT_METHODS.insufficientFunds,
    );
    // Declined an hour before the paid period ends: never PAST_DUE before the end.
    expect((await state(t, sub.id)).subscription.status).toBe("ACTIVE");
    expect((await cron(t, "renew", end2)).failed).toBe(1);
    expect((await state(t, sub.id)).subscription.status).toBe("PAST_DUE");
  });

  it("expires after the last retry fails, and a manual renew inside retention brings it back", async () => {
    const customer = await t.h.user();
    const sub = await activeSubscription(t, customer);
    t.steer(customer.id, "decline");
    await cron(t, "renew", hours(sub.end, -1));
    await cron(t, "renew", sub.end);
    for (const day of [1, 3]) await cron(t, "renew", hours(addDays(sub.end, day), 1));
    expect((await state(t, sub.id)).subscription).toMatchObject({
      status: "PAST_DUE",
      renewalAttempts: 3,
    });
    const last = await cron(t, "renew", hours(addDays(sub.end, 5), 1));
    expect(last.failed).toBe(1);
    let now = await state(t, sub.id);
    expect(now.subscription).toMatchObject({ status: "EXPIRED", renewalAttempts: 4 });
    expect(now.subscription.expiredAt?.getTime()).toBe(hours(addDays(sub.end, 5), 1).getTime());
    expect(now.invoices.at(-1)?.status).toBe("UNCOLLECTIBLE");
    expect((await eventTypes(t, [sub.id])).at(-1)).toBe("subscription.expired");
    // An EXPIRED subscription is not charged by the sweep again.
    expect((await cron(t, "renew", addDays(sub.end, 6))).attempted).toBe(0);

    t.steer(customer.id, "ok");
    t.h.clock.now = addDays(sub.end, 10);
    const revived = await renew({ ctx: t.ctx, input: { subscriptionId: sub.id, actor: customer } });
    expect(revived.status).toBe("ACTIVE");
    now = await state(t, sub.id);
    expect(now.subscription.renewalAttempts).toBe(0);
    expect((await eventTypes(t, [sub.id])).at(-1)).toBe("subscription.renewed");
  });

  it("stops charging once a renewal leaves no card on file; a manual renew with a kept card resumes it", async () => {
    const customer = await t.h.user();
    const sub = await activeSubscription(t, customer);
    expect((await state(t, sub.id)).subscription.cardOnFile).toBe(true);
    const chargesOf = () => t.sandbox.charges.filter((c) => c.request.customerId === customer.id);
    // The method of the paid invoice is one the provider does not keep.
    const first = (await state(t, sub.id)).payments[0]!;
    await t.h.database.db
      .update(payments)
      .set({ paymentMethod: SANDBOX_PAYMENT_METHODS.once })
      .where(eq(payments.id, first.id));

    // The renewal still succeeds (settled with the batch), but leaves no card on file.
    await cron(t, "renew", hours(sub.end, -1));
    expect(chargesOf()).toHaveLength(2);
    expect(chargesOf()[1]!.result).toMatchObject({ status: "succeeded", reusable: false });
    let now = await state(t, sub.id);
    expect(now.subscription).toMatchObject({ status: "ACTIVE", cardOnFile: false });
    const end2 = now.subscription.currentPeriodEnd;
    expect(now.subscription.currentPeriodStart.getTime()).toBe(sub.end.getTime());

    // Next period: nothing to charge, neither in the window nor past the end (no dunning
    // either: the expiry sweep reminds and ends it).
    await cron(t, "renew", hours(end2, -1));
    await cron(t, "renew", hours(end2, 2));
    expect(chargesOf()).toHaveLength(2);
    now = await state(t, sub.id);
    expect(now.subscription).toMatchObject({ status: "ACTIVE", renewalAttempts: 0 });
    expect(now.invoices).toHaveLength(2);

    // The customer pays the next period by hand with a card the provider keeps.
    t.h.clock.now = hours(end2, 3);
    const renewed = await renew({
      ctx: t.ctx,
      input: { subscriptionId: sub.id, actor: customer, paymentMethod: SANDBOX_PAYMENT_METHODS.ok },
    });
    expect(renewed).toMatchObject({ status: "ACTIVE", cardOnFile: true });
    const end3 = new Date(renewed.currentPeriodEnd);
    expect(new Date(renewed.currentPeriodStart).getTime()).toBe(end2.getTime());

    // And the sweep charges the period after that by itself, with that card.
    await cron(t, "renew", hours(end3, -1));
    expect(chargesOf()).toHaveLength(4);
    expect(chargesOf()[3]!.request.paymentMethod).toBe(SANDBOX_PAYMENT_METHODS.ok);
    now = await state(t, sub.id);
    expect(now.subscription).toMatchObject({ status: "ACTIVE", cardOnFile: true });
    expect(now.subscription.currentPeriodStart.getTime()).toBe(end3.getTime());
  });

  it("purges Idempotency-Key records past their retention", async () => {
    const { idempotencyKeys } = await import("@minispod/db");
    const db = t.h.database.db;
    await db.insert(idempotencyKeys).values([
      {
        userId: t.customer.id,
        scope: "s",
        key: "old",
        requestHash: "h",
        createdAt: addDays(START, -3),
      },
      { userId: t.customer.id, scope: "s", key: "new", requestHash: "h", createdAt: START },
    ]);
    const result = await cron(t, "purge-keys", hours(START, 1));
    expect(result).toMatchObject({ purged: 1, more: false });
    const left = await db.select({ key: idempotencyKeys.key }).from(idempotencyKeys);
    expect(left.map((r) => r.key)).toEqual(["new"]);
  });

  it("exposes the sweep metrics and the outbox backlog on /metrics", async () => {
    const res = await t.app.request("/metrics");
    const text = await res.text();
    expect(text).toMatch(
      /sweep_charges_total\{outcome="succeeded",function="billing-sweeper"\} [1-9]/,
    );
    expect(text).toMatch(
      /sweep_run_duration_seconds_count\{function="billing-sweeper",job="renew"\} [1-9]/,
    );
    expect(text).toMatch(/outbox_backlog_events\{function="billing-sweeper"\} \d+/);
    expect(text).toMatch(/outbox_oldest_unpublished_age_seconds/);
  });
});
