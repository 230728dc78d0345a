import { addMonths } from "@minispod/billing";
import { SANDBOX_PAYMENT_METHODS } from "@minispod/billing/payments";
import {
  auditLog,
  instanceStatusEvents,
  invoices,
  payments,
  serviceInstances,
  subscriptions,
} from "@minispod/db";
import { json, runRouteSecurityTests, type TestUser } from "@minispod/shared/testing";
import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  outboxFor,
  type SubscriptionBody,
  type SubscriptionsTest,
  seedService,
  setupSubscriptions,
  subscribed,
  subscribeRequest,
} from "./helpers";

let t: SubscriptionsTest;
let target: SubscriptionBody;
beforeAll(async () => {
  t = await setupSubscriptions();
  target = await subscribed(t);
});
afterAll(() => t.h.close());

const db = () => t.h.database.db;
type Problem = { code: string; status: number; detail: string };

const post = (path: string, user: TestUser, body?: unknown, headers: Record<string, string> = {}) =>
  t.app.request(
    path,
    body === undefined
      ? { method: "POST", headers: { ...t.h.bearer(user), ...headers } }
      : json(body, { ...t.h.bearer(user), ...headers }),
  );
const patch = (id: string, user: TestUser, body: unknown) =>
  t.app.request(`/api/v1/subscriptions/${id}`, json(body, t.h.bearer(user), "PATCH"));

async function eventTypes(subject: string) {
  return (await outboxFor(db(), subject)).map((e) => e.type);
}

async function invoicesOf(subscriptionId: string) {
  return db()
    .select()
    .from(invoices)
    .where(eq(invoices.subscriptionId, subscriptionId))
    .orderBy(asc(invoices.periodStart));
}

async function setStatus(id: string, values: Partial<typeof subscriptions.$inferInsert>) {
  await db().update(subscriptions).set(values).where(eq(subscriptions.id, id));
}

describe("POST /api/v1/subscriptions/:id/cancel", () => {
  it("cancels at once when asked explicitly: 200 CANCELLED, instance DELETING, the data loss stated, subscription.cancelled emitted and audited", async () => {
    const sub = await subscribed(t);
    const res = await post(`/api/v1/subscriptions/${sub.id}/cancel`, t.customer, {
      immediately: true,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as SubscriptionBody & {
      cancellation: { mode: string; dataKeptUntil: string | null; message: string };
    };
    expect(body).toMatchObject({
      id: sub.id,
      status: "CANCELLED",
      autoRenew: false,
      cancelAtPeriodEnd: false,
      instance: { status: "DELETING" },
      cancellation: { mode: "immediately", dataKeptUntil: null },
    });
    expect(body.cancellation.message).toMatch(/all its data are being deleted/);
    expect(body.cancelledAt).not.toBeNull();
    const timeline = await db()
      .select()
      .from(instanceStatusEvents)
      .where(eq(instanceStatusEvents.instanceId, sub.instance!.id))
      .orderBy(asc(instanceStatusEvents.createdAt));
    expect(timeline.map((e) => e.status)).toEqual(["PENDING", "DELETING"]);
    const [event] = (await outboxFor(db(), sub.id)).filter((e) =>
      e.type.endsWith("subscription.cancelled"),
    );
    expect(event?.data).toMatchObject({
      userId: t.customer.id,
      subscriptionId: sub.id,
      status: "CANCELLED",
      previousStatus: "ACTIVE",
      instanceId: sub.instance!.id,
    });
    const audits = await db().select().from(auditLog).where(eq(auditLog.resourceId, sub.id));
    expect(audits.map((a) => a.action)).toContain("subscription.cancelled");
  });

  it("answers 409 to cancelling twice", async () => {
    const sub = await subscribed(t);
    const now = { immediately: true };
    expect((await post(`/api/v1/subscriptions/${sub.id}/cancel`, t.customer, now)).status).toBe(
      200,
    );
    const again = await post(`/api/v1/subscriptions/${sub.id}/cancel`, t.customer, now);
    expect(again.status).toBe(409);
    expect(((await again.json()) as Problem).code).toBe("CONFLICT");
    expect((await eventTypes(sub.id)).filter((x) => x.endsWith("cancelled"))).toHaveLength(1);
  });

  it("accepts a reason, and lets an admin cancel a customer's subscription", async () => {
    const sub = await subscribed(t);
    const res = await post(`/api/v1/subscriptions/${sub.id}/cancel`, t.admin, {
      reason: "abuse",
      immediately: true,
    });
    expect(res.status).toBe(200);
    const [row] = await db().select().from(subscriptions).where(eq(subscriptions.id, sub.id));
    expect(row?.cancelReason).toBe("abuse");
    // The admin's act on the customer's subscription belongs in the customer's trail too.
    const [audit] = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.resourceId, sub.id), eq(auditLog.action, "subscription.cancelled")));
    expect(audit).toMatchObject({ actorId: t.admin.id, ownerId: t.customer.id });
  });

  it("answers 409 while the first payment is still unconfirmed", async () => {
    const service = await seedService(db());
    const pending = await subscribeRequest(t, t.customer, {
      serviceSlug: service.slug,
      paymentMethod: SANDBOX_PAYMENT_METHODS.error,
    });
    const { subscriptionId } = (await pending.json()) as { subscriptionId: string };
    const res = await post(`/api/v1/subscriptions/${subscriptionId}/cancel`, t.customer);
    expect(res.status).toBe(409);
  });

  it("answers 404 to another customer and changes nothing", async () => {
    const res = await post(`/api/v1/subscriptions/${target.id}/cancel`, t.other);
    expect(res.status).toBe(404);
    const [row] = await db().select().from(subscriptions).where(eq(subscriptions.id, target.id));
    expect(row?.status).toBe("ACTIVE");
  });

  it("answers 400 to a bad id or body", async () => {
    expect((await post("/api/v1/subscriptions/nope/cancel", t.customer)).status).toBe(400);
    expect(
      (await post(`/api/v1/subscriptions/${target.id}/cancel`, t.customer, { reason: 5 })).status,
    ).toBe(400);
    expect(
      (await post(`/api/v1/subscriptions/${target.id}/cancel`, t.customer, { immediately: "yes" }))
        .status,
    ).toBe(400);
  });
});

describe("PATCH /api/v1/subscriptions/:id", () => {
  it("turns auto-renew off and on, emitting subscription.auto_renew_changed each time", async () => {
    const sub = await subscribed(t);
    const off = await patch(sub.id, t.customer, { autoRenew: false });
    expect(off.status).toBe(200);
    expect(((await off.json()) as SubscriptionBody).autoRenew).toBe(false);
    const same = await patch(sub.id, t.customer, { autoRenew: false });
    expect(same.status).toBe(200);
    expect((await patch(sub.id, t.customer, { autoRenew: true })).status).toBe(200);
    const events = (await outboxFor(db(), sub.id)).filter((e) =>
      e.type.endsWith("auto_renew_changed"),
    );
    expect(events.map((e) => (e.data as { autoRenew: boolean }).autoRenew)).toEqual([false, true]);
  });

  it("answers 400 to a missing or mistyped autoRenew", async () => {
    for (const body of [{}, { autoRenew: "no" }, { autoRenew: null }]) {
      const res = await patch(target.id, t.customer, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as Problem).code).toBe("VALIDATION_FAILED");
    }
  });

  it("answers 409 on an ended subscription", async () => {
    const sub = await subscribed(t);
    await post(`/api/v1/subscriptions/${sub.id}/cancel`, t.customer, { immediately: true });
    expect((await patch(sub.id, t.customer, { autoRenew: true })).status).toBe(409);
  });

  it("answers 404 to another customer", async () => {
    expect((await patch(target.id, t.other, { autoRenew: false })).status).toBe(404);
  });
});

describe("POST /api/v1/subscriptions/:id/renew", () => {
  it("charges the next period [currentPeriodEnd, +1 month) and emits subscription.renewed", async () => {
    const sub = await subscribed(t);
    const charges = t.provider.charges.length;
    const res = await post(`/api/v1/subscriptions/${sub.id}/renew`, t.customer);
    expect(res.status).toBe(200);
    const body = (await res.json()) as SubscriptionBody;
    const oldEnd = new Date(sub.currentPeriodEnd);
    expect(body.status).toBe("ACTIVE");
    expect(body.currentPeriodStart).toBe(sub.currentPeriodEnd);
    expect(body.currentPeriodEnd).toBe(addMonths(oldEnd, 1).toISOString());
    expect(body.invoices).toHaveLength(2);
    const rows = await invoicesOf(sub.id);
    expect(rows.map((i) => i.status)).toEqual(["PAID", "PAID"]);
    expect(rows[1]?.periodStart.toISOString()).toBe(sub.currentPeriodEnd);
    expect(t.provider.charges.length).toBe(charges + 1);
    expect(await eventTypes(sub.id)).toEqual([
      "dev.minispod.subscription.activated",
      "dev.minispod.subscription.renewed",
    ]);
    expect(await eventTypes(rows[1]!.id)).toEqual(["dev.minispod.invoice.paid"]);
  });

  it("shows cardOnFile: false after a one-off method, and true again after a renew with a kept card", async () => {
    const sub = await subscribed(t, t.customer, {
      serviceSlug: (await seedService(db())).slug,
      paymentMethod: SANDBOX_PAYMENT_METHODS.once,
    });
    expect(sub).toMatchObject({ status: "ACTIVE", autoRenew: true, cardOnFile: false });
    const read = await t.app.request(`/api/v1/subscriptions/${sub.id}`, {
      headers: t.h.bearer(t.customer),
    });
    expect(((await read.json()) as SubscriptionBody).cardOnFile).toBe(false);
    const list = await t.app.request("/api/v1/subscriptions", { headers: t.h.bearer(t.customer) });
    const listed = ((await list.json()) as { items: SubscriptionBody[] }).items;
    expect(listed.find((s) => s.id === sub.id)?.cardOnFile).toBe(false);

    const res = await post(`/api/v1/subscriptions/${sub.id}/renew`, t.customer, {
      paymentMethod: SANDBOX_PAYMENT_METHODS.ok,
    });
    expect(res.status).toBe(200);
    expect((await res.json()) as SubscriptionBody).toMatchObject({
      status: "ACTIVE",
      cardOnFile: true,
    });
    const [row] = await db().select().from(subscriptions).where(eq(subscriptions.id, sub.id));
    expect(row?.cardOnFile).toBe(true);
  });

  it("buys one period per Idempotency-Key, however often it is sent", async () => {
    const sub = await subscribed(t);
    const key = { "idempotency-key": "renew-once" };
    const first = await post(`/api/v1/subscriptions/${sub.id}/renew`, t.customer, undefined, key);
    const second = await post(`/api/v1/subscriptions/${sub.id}/renew`, t.customer, undefined, key);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(await invoicesOf(sub.id)).toHaveLength(2);
  });

  it("answers 402 to a decline, keeps the period, and reuses the unpaid invoice on retry", async () => {
    const sub = await subscribed(t);
    const declined = await post(`/api/v1/subscriptions/${sub.id}/renew`, t.customer, {
      paymentMethod: SANDBOX_PAYMENT_METHODS.declined,
    });
    expect(declined.status).toBe(402);
    expect(await declined.json()).toMatchObject({
      code: "PAYMENT_DECLINED",
      declineCode: "card_declined",
    });
    const [row] = await db().select().from(subscriptions).where(eq(subscriptions.id, sub.id));
    expect(row?.status).toBe("ACTIVE");
    expect(row?.currentPeriodEnd.toISOString()).toBe(sub.currentPeriodEnd);
    const afterDecline = await invoicesOf(sub.id);
    expect(afterDecline.map((i) => i.status)).toEqual(["PAID", "OPEN"]);

    const retry = await post(`/api/v1/subscriptions/${sub.id}/renew`, t.customer, {});
    expect(retry.status).toBe(200);
    const afterRetry = await invoicesOf(sub.id);
    expect(afterRetry.map((i) => [i.id, i.status])).toEqual([
      [afterDecline[0]!.id, "PAID"],
      [afterDecline[1]!.id, "PAID"],
    ]);
    const attempts = await db()
      .select()
      .from(payments)
      .where(eq(payments.invoiceId, afterDecline[1]!.id));
    expect(attempts.map((p) => p.status).sort()).toEqual(["FAILED", "SUCCEEDED"]);
  });

  it("revives an EXPIRED subscription inside the retention window with a period starting now", async () => {
    const sub = await subscribed(t);
    const ended = new Date(Date.now() - 3 * 86_400_000);
    await setStatus(sub.id, { status: "EXPIRED", currentPeriodEnd: ended, expiredAt: ended });
    await db()
      .update(serviceInstances)
      .set({ status: "SUSPENDED" })
      .where(eq(serviceInstances.subscriptionId, sub.id));
    const before = Date.now();
    const res = await post(`/api/v1/subscriptions/${sub.id}/renew`, t.customer);
    expect(res.status).toBe(200);
    const body = (await res.json()) as SubscriptionBody;
    expect(body.status).toBe("ACTIVE");
    expect(new Date(body.currentPeriodStart).getTime()).toBeGreaterThanOrEqual(before - 5);
    const renewed = (await outboxFor(db(), sub.id)).find((e) =>
      e.type.endsWith("subscription.renewed"),
    );
    expect(renewed?.data).toMatchObject({ previousStatus: "EXPIRED", status: "ACTIVE" });
  });

  it("answers 409 to an EXPIRED subscription past SUBSCRIPTION_RETENTION_DAYS", async () => {
    const sub = await subscribed(t);
    const ended = new Date(Date.now() - 31 * 86_400_000);
    await setStatus(sub.id, { status: "EXPIRED", currentPeriodEnd: ended, expiredAt: ended });
    const charges = t.provider.charges.length;
    const res = await post(`/api/v1/subscriptions/${sub.id}/renew`, t.customer);
    expect(res.status).toBe(409);
    expect(((await res.json()) as Problem).detail).toContain("retention");
    expect(t.provider.charges.length).toBe(charges);
  });

  it("answers 409 to a cancelled subscription", async () => {
    const sub = await subscribed(t);
    await post(`/api/v1/subscriptions/${sub.id}/cancel`, t.customer, { immediately: true });
    expect((await post(`/api/v1/subscriptions/${sub.id}/renew`, t.customer)).status).toBe(409);
  });

  it("answers 404 to another customer and charges nothing", async () => {
    const charges = t.provider.charges.length;
    expect((await post(`/api/v1/subscriptions/${target.id}/renew`, t.other)).status).toBe(404);
    expect(t.provider.charges.length).toBe(charges);
  });

  it("answers 400 to a bad body", async () => {
    const res = await post(`/api/v1/subscriptions/${target.id}/renew`, t.customer, {
      paymentMethod: "",
    });
    expect(res.status).toBe(400);
  });
});

runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
  method: "POST",
  path: () => `/api/v1/subscriptions/${target.id}/cancel`,
});
runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
  method: "PATCH",
  path: () => `/api/v1/subscriptions/${target.id}`,
  body: { autoRenew: false },
});
runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
  method: "POST",
  path: () => `/api/v1/subscriptions/${target.id}/renew`,
});
