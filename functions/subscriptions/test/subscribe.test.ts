import { SANDBOX_PAYMENT_METHODS } from "@minispod/billing/payments";
import {
  auditLog,
  instanceStatusEvents,
  invoices,
  isUniqueViolation,
  outboxEvents,
  payments,
  serviceInstances,
  subscriptions,
} from "@minispod/db";
import { json, runRouteSecurityTests } from "@minispod/shared/testing";
import { and, eq, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import {
  outboxFor,
  recordingSender,
  type SubscriptionBody,
  type SubscriptionsTest,
  seedService,
  setupSubscriptions,
  subscribed,
  subscribeRequest,
} from "./helpers";

let t: SubscriptionsTest;
beforeAll(async () => {
  t = await setupSubscriptions();
});
afterAll(() => t.h.close());

const db = () => t.h.database.db;

async function rowsOf(subscriptionId: string) {
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
    .where(eq(payments.invoiceId, invoiceRows[0]?.id ?? "00000000-0000-0000-0000-000000000000"));
  const instances = await db()
    .select()
    .from(serviceInstances)
    .where(eq(serviceInstances.subscriptionId, subscriptionId));
  return { subscription: subscription!, invoices: invoiceRows, payments: paymentRows, instances };
}

describe("POST /api/v1/subscriptions: subscribing", () => {
  it("answers 201 ACTIVE with a PAID invoice and a PENDING instance, events in the same commit", async () => {
    const sender = recordingSender();
    const app = t.appWith({ events: sender });
    const service = await seedService(db(), {
      slug: "nextcloud",
      name: "Nextcloud",
      priceMinor: 1200,
    });
    const before = Date.now();
    const res = await app.request(
      "/api/v1/subscriptions",
      json({ serviceSlug: "nextcloud" }, t.h.bearer(t.customer)),
    );
    expect(res.status).toBe(201);
    const body = (await res.json()) as SubscriptionBody;
    const rows = await rowsOf(body.id);
    // Named as the provisioner names the cluster objects: the URL shown now is the one that will answer.
    const objectName = `i-${rows.instances[0]?.id}`;
    expect(body).toMatchObject({
      status: "ACTIVE",
      userId: t.customer.id,
      service: { id: service.id, slug: "nextcloud", name: "Nextcloud" },
      autoRenew: true,
      instance: { status: "PENDING", url: `https://${objectName}.apps.localhost` },
      latestInvoice: { status: "PAID", amountMinor: 1200, currency: "EUR" },
    });
    expect(body.latestInvoice?.number).toMatch(/^INV-\d{4}-\d{6,}$/);
    const start = new Date(body.currentPeriodStart);
    expect(start.getTime()).toBeGreaterThanOrEqual(before - 5);
    const end = new Date(body.currentPeriodEnd);
    expect(end.getUTCMonth()).toBe((start.getUTCMonth() + 1) % 12);
    expect(body.latestInvoice?.periodStart).toBe(body.currentPeriodStart);
    expect(body.latestInvoice?.periodEnd).toBe(body.currentPeriodEnd);

    expect(rows.payments).toHaveLength(1);
    expect(rows.payments[0]).toMatchObject({
      status: "SUCCEEDED",
      provider: "sandbox",
      amountMinor: 1200,
      providerPaymentId: expect.stringMatching(/^sbx_ch_/),
      idempotencyKey: expect.stringMatching(/^pay_/),
    });
    expect(rows.instances[0]).toMatchObject({
      namespace: `customer-${t.customer.id}`,
      objectName,
      host: `${objectName}.apps.localhost`,
      status: "PENDING",
    });
    const timeline = await db()
      .select()
      .from(instanceStatusEvents)
      .where(eq(instanceStatusEvents.instanceId, rows.instances[0]!.id));
    expect(timeline.map((e) => e.status)).toEqual(["PENDING"]);
    const charge = t.provider.charges.find(
      (c) => c.request.idempotencyKey === rows.payments[0]!.idempotencyKey,
    );
    expect(charge?.request).toMatchObject({
      amountMinor: 1200,
      currency: "EUR",
      customerId: t.customer.id,
    });

    // Same commit: the outbox rows were written by the transaction that activated
    // the subscription (PostgreSQL stamps each row with its writing transaction).
    const [subXmin] = await db()
      .select({ xmin: sql<string>`xmin::text` })
      .from(subscriptions)
      .where(eq(subscriptions.id, body.id));
    const outbox = await db()
      .select({ id: outboxEvents.id, type: outboxEvents.type, xmin: sql<string>`xmin::text` })
      .from(outboxEvents)
      .where(inArray(outboxEvents.subject, [body.id, rows.invoices[0]!.id, rows.payments[0]!.id]));
    expect(outbox.map((e) => e.type).sort()).toEqual([
      "dev.minispod.invoice.paid",
      "dev.minispod.payment.succeeded",
      "dev.minispod.subscription.activated",
    ]);
    for (const event of outbox) expect(event.xmin).toBe(subXmin!.xmin);
    expect(sender.kicked.sort()).toEqual(outbox.map((e) => e.id).sort());

    const [activated] = await outboxFor(db(), body.id);
    expect(activated?.data).toMatchObject({
      userId: t.customer.id,
      subscriptionId: body.id,
      serviceSlug: "nextcloud",
      status: "ACTIVE",
      instanceId: rows.instances[0]!.id,
    });
    const audits = await db()
      .select()
      .from(auditLog)
      .where(eq(auditLog.resourceId, body.id))
      .orderBy(auditLog.action);
    expect(audits).toMatchObject([
      { action: "subscription.activated", actorId: t.customer.id, ownerId: t.customer.id },
      { action: "subscription.created", actorId: t.customer.id, ownerId: t.customer.id },
    ]);
  });

  it("publishes the events once the request has committed", async () => {
    const body = await subscribed(t);
    await t.deps.events.idle();
    const published = t.h.publisher.events.filter((e) => e.subject === body.id).map((e) => e.type);
    expect(published).toEqual(["dev.minispod.subscription.activated"]);
  });

  it("honours autoRenew: false and passes the payment method to the provider", async () => {
    const body = await subscribed(t, t.customer, {
      autoRenew: false,
      paymentMethod: "pm_sandbox_ok",
    });
    expect(body.autoRenew).toBe(false);
    const [payment] = (await rowsOf(body.id)).payments;
    expect(payment?.paymentMethod).toBe("pm_sandbox_ok");
  });

  it("places the instance by K8S_NAMESPACE_PREFIX and K8S_CLUSTER_DOMAIN", async () => {
    const app = createApp({
      ...t.deps,
      env: {
        ...t.deps.env,
        K8S_NAMESPACE_PREFIX: "tenant-",
        K8S_CLUSTER_DOMAIN: "pods.example.com",
      },
    });
    const service = await seedService(db(), { slug: "wiki" });
    const res = await app.request(
      "/api/v1/subscriptions",
      json({ serviceSlug: service.slug }, t.h.bearer(t.other)),
    );
    const body = (await res.json()) as SubscriptionBody;
    const { instances } = await rowsOf(body.id);
    expect(body.instance?.url).toBe(`https://i-${instances[0]?.id}.pods.example.com`);
    expect(instances[0]?.namespace).toBe(`tenant-${t.other.id}`);
  });

  it("allows several live subscriptions to a service that allows multiple", async () => {
    const service = await seedService(db(), { allowMultiple: true });
    const first = await subscribed(t, t.customer, { serviceSlug: service.slug });
    const second = await subscribed(t, t.customer, { serviceSlug: service.slug });
    expect(second.id).not.toBe(first.id);
    expect(second.instance?.url).not.toBe(first.instance?.url);
  });
});

describe("POST /api/v1/subscriptions: refusals", () => {
  it("answers 404 for an unknown service and 422 for an inactive or retired one", async () => {
    const missing = await subscribeRequest(t, t.customer, { serviceSlug: "no-such-app" });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toContain("application/problem+json");
    const inactive = await seedService(db(), { active: false });
    const retired = await seedService(db(), { retiredAt: new Date() });
    for (const service of [inactive, retired]) {
      const res = await subscribeRequest(t, t.customer, { serviceSlug: service.slug });
      expect(res.status).toBe(422);
      expect(((await res.json()) as { code: string }).code).toBe("UNPROCESSABLE");
    }
    expect(
      await db().select().from(subscriptions).where(eq(subscriptions.serviceId, inactive.id)),
    ).toEqual([]);
  });

  it("answers 409 to a second live subscription to the same service", async () => {
    const first = await subscribed(t);
    const res = await subscribeRequest(t, t.customer, { serviceSlug: first.service.slug });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: "CONFLICT", subscriptionId: first.id });
    // Another customer is not affected by it.
    expect((await subscribeRequest(t, t.other, { serviceSlug: first.service.slug })).status).toBe(
      201,
    );
  });

  it("is backed by the database: a second PENDING or ACTIVE row for one customer and service is refused", async () => {
    const service = await seedService(db());
    const row = {
      userId: t.customer.id,
      serviceId: service.id,
      currentPeriodStart: new Date(),
      currentPeriodEnd: new Date(Date.now() + 86_400_000),
    };
    await db()
      .insert(subscriptions)
      .values({ ...row, status: "PENDING" });
    const second = await db()
      .insert(subscriptions)
      .values({ ...row, status: "ACTIVE" })
      .catch((error: unknown) => error);
    expect(isUniqueViolation(second, "subscriptions_one_live_per_service_uq")).toBe(true);
    // Ended ones do not count.
    await db()
      .insert(subscriptions)
      .values({ ...row, status: "FAILED" });
  });

  it("rejects invalid bodies with 400 and the offending fields, touching nothing", async () => {
    const count = async () =>
      (await db().select({ id: subscriptions.id }).from(subscriptions)).length;
    const before = await count();
    const cases: unknown[] = [
      {},
      { serviceSlug: "" },
      { serviceSlug: 42 },
      { serviceSlug: "x", autoRenew: "yes" },
      { serviceSlug: "x", paymentMethod: "" },
    ];
    for (const body of cases) {
      const res = await subscribeRequest(t, t.customer, body as Record<string, unknown>);
      expect(res.status).toBe(400);
      const problem = (await res.json()) as { code: string; errors: { field: string }[] };
      expect(problem.code).toBe("VALIDATION_FAILED");
      expect(problem.errors.length).toBeGreaterThan(0);
    }
    const array = await t.app.request("/api/v1/subscriptions", json([], t.h.bearer(t.customer)));
    expect(array.status).toBe(400);
    const malformed = await t.app.request("/api/v1/subscriptions", {
      method: "POST",
      headers: { ...t.h.bearer(t.customer), "content-type": "application/json" },
      body: "{nope",
    });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { code: string }).code).toBe("MALFORMED_JSON");
    const text = await t.app.request("/api/v1/subscriptions", {
      method: "POST",
      headers: { ...t.h.bearer(t.customer), "content-type": "text/plain" },
      body: "serviceSlug=x",
    });
    expect(text.status).toBe(415);
    expect(await count()).toBe(before);
  });
});

describe("POST /api/v1/subscriptions: payment failures", () => {
  it("answers 402 to a declined card and leaves no ACTIVE subscription and no PAID invoice", async () => {
    const service = await seedService(db());
    const res = await subscribeRequest(t, t.customer, {
      serviceSlug: service.slug,
      paymentMethod: SANDBOX_PAYMENT_METHODS.declined,
    });
    expect(res.status).toBe(402);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const problem = (await res.json()) as {
      code: string;
      declineCode: string;
      subscriptionId: string;
    };
    expect(problem).toMatchObject({
      code: "PAYMENT_DECLINED",
      declineCode: "card_declined",
      status: 402,
    });

    const mine = await db()
      .select()
      .from(subscriptions)
      .where(and(eq(subscriptions.userId, t.customer.id), eq(subscriptions.serviceId, service.id)));
    expect(mine.map((s) => s.status)).toEqual(["FAILED"]);
    const rows = await rowsOf(problem.subscriptionId);
    expect(rows.invoices.map((i) => i.status)).toEqual(["VOID"]);
    expect(rows.payments).toMatchObject([{ status: "FAILED", failureCode: "card_declined" }]);
    expect(rows.instances).toEqual([]);
    const events = [
      ...(await outboxFor(db(), problem.subscriptionId)),
      ...(await outboxFor(db(), rows.invoices[0]!.id)),
      ...(await outboxFor(db(), rows.payments[0]!.id)),
    ];
    expect(events.map((e) => e.type)).toEqual(["dev.minispod.payment.failed"]);
    expect(events[0]?.data).toMatchObject({ userId: t.customer.id, failureCode: "card_declined" });

    // Another customer cannot see the failed attempt.
    const theirs = await t.app.request(`/api/v1/subscriptions/${problem.subscriptionId}`, {
      headers: t.h.bearer(t.other),
    });
    expect(theirs.status).toBe(404);

    // A failed attempt does not block a new one.
    const retry = await subscribeRequest(t, t.customer, { serviceSlug: service.slug });
    expect(retry.status).toBe(201);
  });

  it("answers 402 with insufficient_funds", async () => {
    const service = await seedService(db());
    const res = await subscribeRequest(t, t.customer, {
      serviceSlug: service.slug,
      paymentMethod: SANDBOX_PAYMENT_METHODS.insufficientFunds,
    });
    expect(res.status).toBe(402);
    expect(await res.json()).toMatchObject({ declineCode: "insufficient_funds" });
  });

  it("answers 503 when the outcome is unknown, keeps everything PENDING and blocks a second charge", async () => {
    const service = await seedService(db());
    const res = await subscribeRequest(t, t.customer, {
      serviceSlug: service.slug,
      paymentMethod: SANDBOX_PAYMENT_METHODS.error,
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("30");
    const problem = (await res.json()) as { subscriptionId: string; paymentStatus: string };
    expect(problem.paymentStatus).toBe("PENDING");
    const rows = await rowsOf(problem.subscriptionId);
    expect(rows.subscription.status).toBe("PENDING");
    expect(rows.invoices.map((i) => i.status)).toEqual(["OPEN"]);
    expect(rows.payments.map((p) => p.status)).toEqual(["PENDING"]);
    expect(rows.instances).toEqual([]);

    const again = await subscribeRequest(t, t.customer, { serviceSlug: service.slug });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({
      subscriptionId: problem.subscriptionId,
      subscriptionStatus: "PENDING",
    });
  });
});

runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
  method: "POST",
  path: "/api/v1/subscriptions",
  body: { serviceSlug: "anything" },
});
