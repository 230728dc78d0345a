import {
  addDays,
  type BillingContext,
  billingContextOf,
  renew,
  renewDueSubscriptions,
  subscribe,
} from "@minispod/billing";
import { SANDBOX_PAYMENT_METHODS, sandboxPaymentProvider } from "@minispod/billing/payments";
import { seedCatalogService } from "@minispod/billing/testing";
import {
  auditLog,
  outboxEvents,
  serviceInstances,
  subscriptionReminders,
  subscriptions,
} from "@minispod/db";
import { type AppEnv, AppError, eventCatalogue } from "@minispod/shared";
import { createHarness, type Harness, type TestUser } from "@minispod/shared/testing";
import { and, asc, eq } from "drizzle-orm";
import type { Hono } from "hono";
import * as v from "valibot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { expirySweeperFunction } from "../src/function";

let h: Harness;
let app: Hono<AppEnv>;
let ctx: BillingContext;
let customer: TestUser;
const sandbox = sandboxPaymentProvider();
const start = new Date("2026-03-01T10:00:00.000Z");

beforeAll(async () => {
  h = await createHarness();
  h.clock.now = start;
  const deps = h.context(expirySweeperFunction, { SUBSCRIPTION_RETENTION_DAYS: "30" });
  app = createApp(deps);
  ctx = billingContextOf({ ...deps, provider: sandbox });
  customer = await h.user();
});
afterAll(() => h.close());

const db = () => h.database.db;

async function cron(job: "remind" | "expire" | "purge", at: Date) {
  h.clock.now = at;
  const res = await app.request(`/cron/${job}`, { method: "POST" });
  expect(res.status).toBe(200);
  return (await res.json()) as { examined: number; changed: number; events: number };
}

async function subscribed(autoRenew: boolean, paymentMethod?: string, user = customer) {
  h.clock.now = start;
  const service = await seedCatalogService(db());
  const detail = await subscribe({
    ctx,
    input: { userId: user.id, serviceSlug: service.slug, autoRenew, paymentMethod, actor: user },
  });
  return { id: detail.id, end: new Date(detail.currentPeriodEnd), detail };
}

/** The billing sweep's renewal step (the same package function its cron runs) at `at`. */
async function renewalSweep(at: Date) {
  h.clock.now = at;
  return renewDueSubscriptions({
    ctx,
    now: at,
    windowSeconds: 24 * 3600,
    batchSize: 100,
    maxBatches: 10,
    concurrency: 4,
  });
}

async function events(subject: string) {
  const rows = await db()
    .select({ type: outboxEvents.type, data: outboxEvents.data })
    .from(outboxEvents)
    .where(eq(outboxEvents.subject, subject))
    .orderBy(asc(outboxEvents.createdAt));
  return rows.map((r) => ({ type: r.type.replace("dev.minispod.", ""), data: r.data as never }));
}

async function row(id: string) {
  const [s] = await db().select().from(subscriptions).where(eq(subscriptions.id, id));
  return s!;
}

describe("expiry-sweeper walk-through on the injected clock", () => {
  it("reminds 7, 3 and 1 days before the end (each once), expires, and a renew inside retention revives", async () => {
    const sub = await subscribed(false);
    const minute = 60_000;
    const at = (days: number) => new Date(addDays(sub.end, -days).getTime() + minute);

    expect((await cron("remind", addDays(sub.end, -8))).changed).toBe(0);
    expect((await cron("remind", at(7))).changed).toBe(1);
    expect((await cron("remind", at(7))).changed).toBe(0);
    expect((await cron("remind", at(5))).changed).toBe(0);
    expect((await cron("remind", at(3))).changed).toBe(1);
    expect((await cron("remind", at(3))).changed).toBe(0);
    expect((await cron("remind", at(1))).changed).toBe(1);
    expect((await cron("remind", at(0.5))).changed).toBe(0);
    // Not expired before its end.
    expect((await cron("expire", at(0.5))).changed).toBe(0);

    const reminders = (await events(sub.id)).filter((e) => e.type === "subscription.expiring_soon");
    expect(reminders.map((e) => (e.data as { daysLeft: number }).daysLeft)).toEqual([7, 3, 1]);
    // Built inside PostgreSQL too: the catalogue's shape, with the period as JS writes it.
    for (const reminder of reminders) {
      expect(v.safeParse(eventCatalogue["subscription.expiring_soon"], reminder.data).success).toBe(
        true,
      );
      expect(reminder.data).toMatchObject({
        subscriptionId: sub.id,
        userId: customer.id,
        status: "ACTIVE",
        autoRenew: false,
        reason: "not_renewing",
        currentPeriodEnd: sub.end.toISOString(),
      });
    }
    const recorded = await db()
      .select()
      .from(subscriptionReminders)
      .where(eq(subscriptionReminders.subscriptionId, sub.id));
    expect(recorded.map((r) => r.daysBefore).sort()).toEqual([1, 3, 7]);

    const expired = await cron("expire", new Date(sub.end.getTime() + minute));
    expect(expired).toMatchObject({ changed: 1, events: 1 });
    expect((await cron("expire", new Date(sub.end.getTime() + 2 * minute))).changed).toBe(0);
    const afterExpiry = await row(sub.id);
    expect(afterExpiry.status).toBe("EXPIRED");
    expect(afterExpiry.expiredAt?.getTime()).toBe(sub.end.getTime() + minute);
    const [instance] = await db()
      .select()
      .from(serviceInstances)
      .where(eq(serviceInstances.subscriptionId, sub.id));
    const expiredEvent = (await events(sub.id)).find((e) => e.type === "subscription.expired");
    // What the provisioner needs to suspend the instance.
    expect(expiredEvent?.data).toMatchObject({
      subscriptionId: sub.id,
      userId: customer.id,
      instanceId: instance!.id,
      status: "EXPIRED",
      previousStatus: "ACTIVE",
      currentPeriodEnd: sub.end.toISOString(),
    });
    // Built inside PostgreSQL, yet exactly the catalogue's shape.
    expect(v.safeParse(eventCatalogue["subscription.expired"], expiredEvent?.data).success).toBe(
      true,
    );
    const [audit] = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.resourceId, sub.id), eq(auditLog.action, "subscription.expired")));
    // The platform acted on the customer's subscription: in their own trail.
    expect(audit).toMatchObject({ actorId: null, actorRole: "SYSTEM", ownerId: customer.id });

    // A manual renew inside the retention window brings it back.
    h.clock.now = addDays(sub.end, 10);
    const revived = await renew({ ctx, input: { subscriptionId: sub.id, actor: customer } });
    expect(revived.status).toBe("ACTIVE");
    expect(new Date(revived.currentPeriodStart).getTime()).toBe(addDays(sub.end, 10).getTime());
    const renewed = (await events(sub.id)).find((e) => e.type === "subscription.renewed");
    expect(renewed?.data).toMatchObject({ previousStatus: "EXPIRED" });
    // Revived, it is not purged when the old retention window passes.
    expect((await cron("purge", addDays(sub.end, 40))).changed).toBe(0);
  });

  it("purges an EXPIRED subscription after the retention window, once, and it cannot be renewed after", async () => {
    const sub = await subscribed(false);
    const expiredAt = new Date(sub.end.getTime() + 1000);
    await cron("expire", expiredAt);
    expect((await row(sub.id)).status).toBe("EXPIRED");

    expect((await cron("purge", addDays(expiredAt, 29))).changed).toBe(0);
    const purged = await cron("purge", addDays(expiredAt, 30));
    expect(purged).toMatchObject({ changed: 1, events: 1 });
    expect((await cron("purge", addDays(expiredAt, 31))).changed).toBe(0);
    expect((await row(sub.id)).purgedAt?.getTime()).toBe(addDays(expiredAt, 30).getTime());
    const [instance] = await db()
      .select()
      .from(serviceInstances)
      .where(eq(serviceInstances.subscriptionId, sub.id));
    expect(instance?.status).toBe("DELETING");
    const purgedEvent = (await events(sub.id)).find((e) => e.type === "subscription.purged");
    expect(purgedEvent?.data).toMatchObject({ subscriptionId: sub.id, instanceId: instance!.id });
    const [purgedAudit] = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.resourceId, sub.id), eq(auditLog.action, "subscription.purged")));
    expect(purgedAudit).toMatchObject({ actorRole: "SYSTEM", ownerId: customer.id });

    h.clock.now = addDays(expiredAt, 31);
    const refused = await renew({ ctx, input: { subscriptionId: sub.id, actor: customer } }).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).status).toBe(409);
  });

  it("a card-less subscription is reminded (no_card), never charged, expires; a renew with a card puts it back on auto-renew", async () => {
    const owner = await h.user();
    const sub = await subscribed(true, SANDBOX_PAYMENT_METHODS.once, owner);
    expect(sub.detail).toMatchObject({ status: "ACTIVE", autoRenew: true, cardOnFile: false });
    expect((await row(sub.id)).cardOnFile).toBe(false);
    const chargesOf = () => sandbox.charges.filter((c) => c.request.customerId === owner.id);
    expect(chargesOf()).toHaveLength(1);
    const minute = 60_000;
    const at = (days: number) => new Date(addDays(sub.end, -days).getTime() + minute);
    const reminded = async () =>
      (await events(sub.id))
        .filter((e) => e.type === "subscription.expiring_soon")
        .map((e) => e.data as { daysLeft: number; reason: string });

    for (const days of [7, 3, 1]) {
      expect((await cron("remind", at(days))).changed).toBe(1);
      expect((await cron("remind", at(days))).changed).toBe(0);
      // Inside the renewal window, yet the billing sweep knows it cannot charge it.
      expect((await renewalSweep(at(days))).attempted).toBe(0);
    }
    const reminders = await reminded();
    expect(reminders.map((r) => [r.daysLeft, r.reason])).toEqual([
      [7, "no_card"],
      [3, "no_card"],
      [1, "no_card"],
    ]);
    for (const reminder of reminders) {
      expect(v.safeParse(eventCatalogue["subscription.expiring_soon"], reminder).success).toBe(
        true,
      );
      expect(reminder).toMatchObject({ autoRenew: true, status: "ACTIVE" });
    }
    // Past its end it is no dunning case: no charge, and the expiry ends it.
    expect((await renewalSweep(new Date(sub.end.getTime() + minute))).attempted).toBe(0);
    expect(chargesOf()).toHaveLength(1);
    const expired = await cron("expire", new Date(sub.end.getTime() + minute));
    expect(expired.changed).toBe(1);
    expect(await row(sub.id)).toMatchObject({ status: "EXPIRED", cardOnFile: false });
    const expiredEvent = (await events(sub.id)).find((e) => e.type === "subscription.expired");
    expect(expiredEvent?.data).toMatchObject({ previousStatus: "ACTIVE", autoRenew: true });

    // The customer renews by hand with a card the provider keeps: back on auto-renew.
    const renewedAt = addDays(sub.end, 5);
    h.clock.now = renewedAt;
    const revived = await renew({
      ctx,
      input: { subscriptionId: sub.id, actor: owner, paymentMethod: SANDBOX_PAYMENT_METHODS.ok },
    });
    expect(revived).toMatchObject({ status: "ACTIVE", cardOnFile: true });
    const end2 = new Date(revived.currentPeriodEnd);
    // No reminder and no expiry for this period: the billing sweep charges it.
    // (Other subscriptions of this file may be reminded then: look at this one's events.)
    await cron("remind", addDays(end2, -1));
    expect(await reminded()).toHaveLength(3);
    const renewal = await renewalSweep(new Date(end2.getTime() - 3_600_000));
    expect(renewal).toMatchObject({ attempted: 1, succeeded: 1 });
    expect(chargesOf().at(-1)?.request.paymentMethod).toBe(SANDBOX_PAYMENT_METHODS.ok);
    await cron("expire", new Date(end2.getTime() + minute));
    const after = await row(sub.id);
    expect(after).toMatchObject({ status: "ACTIVE", cardOnFile: true });
    expect(after.currentPeriodStart.getTime()).toBe(end2.getTime());
  });

  it("leaves auto-renewing subscriptions to the billing sweep: no reminder, no expiry", async () => {
    const sub = await subscribed(true);
    expect((await cron("remind", addDays(sub.end, -1))).changed).toBe(0);
    expect((await cron("expire", addDays(sub.end, 1))).changed).toBe(0);
    expect((await row(sub.id)).status).toBe("ACTIVE");
  });

  it("answers 404 for an unknown job", async () => {
    const res = await app.request("/cron/nope", { method: "POST" });
    expect(res.status).toBe(404);
  });
});
