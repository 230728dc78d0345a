import { billingContextOf, expireEndedSubscriptions } from "@minispod/billing";
import { auditLog, invoices, serviceInstances, subscriptions } from "@minispod/db";
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

type Cancelled = SubscriptionBody & {
  cancellation: {
    mode: string;
    effectiveAt: string;
    dataKeptUntil: string | null;
    message: string;
  };
};

let t: SubscriptionsTest;
let target: SubscriptionBody;
const START = new Date("2026-04-01T09:00:00.000Z");
beforeAll(async () => {
  ({ t, target } = await setupAtTime(START, { SUBSCRIPTION_RETENTION_DAYS: "30" }));
});
afterAll(() => t.h.close());

const db = () => t.h.database.db;
const cancel = (id: string, body: unknown = {}, user = t.customer) =>
  t.app.request(`/api/v1/subscriptions/${id}/cancel`, json(body, t.h.bearer(user)));
const undo = (id: string, user = t.customer) =>
  t.app.request(`/api/v1/subscriptions/${id}/cancel/undo`, json({}, t.h.bearer(user)));
const row = (id: string) => subscriptionRow(t, id);
const hours = (date: Date, n: number) => new Date(date.getTime() + n * 3_600_000);

async function sweep(at: Date) {
  await renewalSweep(t, at, 86_400);
  return expireEndedSubscriptions({
    ctx: billingContextOf(t.deps),
    now: at,
    batchSize: 50,
    maxBatches: 4,
  });
}

describe("POST /api/v1/subscriptions/:id/cancel (default: at the period's end)", () => {
  it("keeps the subscription ACTIVE and its instance untouched until the paid period ends, then expires it like any unrenewed period", async () => {
    t.h.clock.now = START;
    const sub = await subscribed(t);
    const end = new Date(sub.currentPeriodEnd);
    const res = await cancel(sub.id, { reason: "too expensive" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Cancelled;
    expect(body).toMatchObject({
      status: "ACTIVE",
      autoRenew: false,
      cancelAtPeriodEnd: true,
      cancelledAt: null,
      instance: { status: sub.instance!.status },
      cancellation: { mode: "period_end", effectiveAt: end.toISOString() },
    });
    expect(body.cancellation.dataKeptUntil).toBe(
      new Date(end.getTime() + 30 * 86_400_000).toISOString(),
    );
    expect(body.cancellation.message).toMatch(/keeps running until/);

    const events = await outboxFor(db(), sub.id);
    const scheduled = events.find((e) => e.type.endsWith("subscription.cancel_scheduled"));
    expect(scheduled?.data).toMatchObject({
      subscriptionId: sub.id,
      status: "ACTIVE",
      autoRenew: false,
      effectiveAt: end.toISOString(),
    });
    expect(events.some((e) => e.type.endsWith("subscription.cancelled"))).toBe(false);
    const [audit] = await db()
      .select()
      .from(auditLog)
      .where(
        and(eq(auditLog.resourceId, sub.id), eq(auditLog.action, "subscription.cancel_scheduled")),
      );
    expect(audit).toMatchObject({ actorId: t.customer.id, ownerId: t.customer.id });

    // Inside the renewal window nothing is charged (auto-renew is off), nothing ends.
    const invoicesOf = async () =>
      (await db().select().from(invoices).where(eq(invoices.subscriptionId, sub.id))).length;
    await sweep(hours(end, -1));
    expect(await invoicesOf()).toBe(1);
    expect((await row(sub.id)).status).toBe("ACTIVE");
    const [instance] = await db()
      .select()
      .from(serviceInstances)
      .where(eq(serviceInstances.subscriptionId, sub.id));
    expect(instance?.status).not.toBe("DELETING");

    // At the end: EXPIRED (the provisioner suspends on subscription.expired), data kept.
    expect((await sweep(end)).changed).toBeGreaterThanOrEqual(1);
    expect(await row(sub.id)).toMatchObject({ status: "EXPIRED", purgedAt: null });
    expect((await outboxFor(db(), sub.id)).at(-1)?.type).toBe("dev.minispod.subscription.expired");
  });

  it("undo before the end restores auto-renew, and the sweep renews the period as usual", async () => {
    t.h.clock.now = START;
    const sub = await subscribed(t);
    const end = new Date(sub.currentPeriodEnd);
    expect((await cancel(sub.id)).status).toBe(200);
    t.h.clock.now = hours(end, -48);
    const res = await undo(sub.id);
    expect(res.status).toBe(200);
    expect((await res.json()) as SubscriptionBody).toMatchObject({
      status: "ACTIVE",
      autoRenew: true,
      cancelAtPeriodEnd: false,
    });
    expect((await outboxFor(db(), sub.id)).at(-1)?.type).toBe(
      "dev.minispod.subscription.cancel_undone",
    );
    const audits = await db().select().from(auditLog).where(eq(auditLog.resourceId, sub.id));
    expect(audits.map((a) => a.action)).toContain("subscription.cancel_undone");
    await sweep(hours(end, -1));
    const renewed = await row(sub.id);
    expect(renewed.status).toBe("ACTIVE");
    expect(renewed.currentPeriodStart.getTime()).toBe(end.getTime());
  });

  it("turning auto-renew back on takes the cancellation back too", async () => {
    t.h.clock.now = START;
    const sub = await subscribed(t);
    await cancel(sub.id);
    const res = await t.app.request(
      `/api/v1/subscriptions/${sub.id}`,
      json({ autoRenew: true }, t.h.bearer(t.customer), "PATCH"),
    );
    expect(((await res.json()) as SubscriptionBody).cancelAtPeriodEnd).toBe(false);
  });

  it("answers 409 to a second cancel at period end, to undo with none scheduled, and to undo after the end", async () => {
    t.h.clock.now = START;
    const sub = await subscribed(t);
    expect((await undo(sub.id)).status).toBe(409);
    expect((await cancel(sub.id)).status).toBe(200);
    expect((await cancel(sub.id)).status).toBe(409);
    await sweep(new Date(sub.currentPeriodEnd));
    const late = await undo(sub.id);
    expect(late.status).toBe(409);
    expect(((await late.json()) as { detail: string }).detail).toMatch(/renew/);
    // An ended subscription is only deleted when asked explicitly.
    expect((await cancel(sub.id)).status).toBe(409);
    expect((await cancel(sub.id, { immediately: true })).status).toBe(200);
  });

  it("a PAST_DUE subscription cancelled at period end stops dunning and expires on the next sweep", async () => {
    t.h.clock.now = START;
    const sub = await subscribed(t);
    const end = new Date(sub.currentPeriodEnd);
    await db()
      .update(subscriptions)
      .set({ status: "PAST_DUE", renewalAttempts: 1, nextRenewalAttemptAt: hours(end, 24) })
      .where(eq(subscriptions.id, sub.id));
    t.h.clock.now = hours(end, 2);
    const res = await cancel(sub.id);
    expect(((await res.json()) as Cancelled).cancellation.effectiveAt).toBe(
      hours(end, 2).toISOString(),
    );
    await sweep(hours(end, 25));
    const billed = await db().select().from(invoices).where(eq(invoices.subscriptionId, sub.id));
    expect(billed.map((i) => i.status)).toEqual(["PAID"]);
    expect((await row(sub.id)).status).toBe("EXPIRED");
  });

  it("answers 404 to another customer, and 400 to a bad id", async () => {
    expect((await undo(target.id, t.other)).status).toBe(404);
    expect((await cancel(target.id, {}, t.other)).status).toBe(404);
    expect((await row(target.id)).cancelAtPeriodEnd).toBe(false);
    expect((await undo("nope")).status).toBe(400);
  });
});

runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
  method: "POST",
  path: () => `/api/v1/subscriptions/${target.id}/cancel/undo`,
});
