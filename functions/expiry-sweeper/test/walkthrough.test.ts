import {
  addDays,
  type BillingContext,
  billingContextOf,
  renew,
  subscribe,
} from "@minispod/billing";
import { seedCatalogService } from "@minispod/billing/testing";
import {
  auditLog,
  outboxEvents,
  serviceInstances,
  subscriptionReminders,
  subscriptions,
} from "@minispod/db";
import { type AppEnv, AppError, eventCatalogue } from "@minispod/shared";
import { sandboxPaymentProvider } from "@minispod/shared/payments";
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
const start = new Date("2026-03-01T10:00:00.000Z");

beforeAll(async () => {
  h = await createHarness();
  h.clock.now = start;
  const deps = h.context(expirySweeperFunction, { SUBSCRIPTION_RETENTION_DAYS: "30" });
  app = createApp(deps);
  ctx = billingContextOf({ ...deps, provider: sandboxPaymentProvider() });
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

async function subscribed(autoRenew: boolean) {
  h.clock.now = start;
  const service = await seedCatalogService(db());
  const detail = await subscribe({
    ctx,
    input: { userId: customer.id, serviceSlug: service.slug, autoRenew, actor: customer },
  });
  return { id: detail.id, end: new Date(detail.currentPeriodEnd) };
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
    expect(audit).toMatchObject({ actorId: null, actorRole: "SYSTEM" });

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

    h.clock.now = addDays(expiredAt, 31);
    const refused = await renew({ ctx, input: { subscriptionId: sub.id, actor: customer } }).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).status).toBe(409);
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
