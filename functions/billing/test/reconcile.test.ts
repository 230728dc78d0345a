import { reconcilePendingPayments } from "@minispod/billing";
import { type PaymentProvider, SANDBOX_PAYMENT_METHODS } from "@minispod/billing/payments";
import { auditLog, invoices, payments, serviceInstances, subscriptions } from "@minispod/db";
import { json } from "@minispod/shared/testing";
import { asc, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BillingTest, outboxTypes, seedService, setupBilling, subscribeVia } from "./helpers";

let t: BillingTest;
beforeAll(async () => {
  t = await setupBilling();
});
afterAll(() => t.h.close());

const db = () => t.h.database.db;
const later = () => new Date(Date.now() + 60_000);

function reconcile(options: { provider?: PaymentProvider; olderThan?: Date } = {}) {
  const { provider: _own, ...ctx } = t.ctx;
  return reconcilePendingPayments({
    ctx,
    provider: options.provider ?? t.provider,
    olderThan: options.olderThan ?? later(),
  });
}

async function state(subscriptionId: string) {
  const [subscription] = await db()
    .select()
    .from(subscriptions)
    .where(eq(subscriptions.id, subscriptionId));
  const invoiceRows = await db()
    .select()
    .from(invoices)
    .where(eq(invoices.subscriptionId, subscriptionId))
    .orderBy(asc(invoices.periodStart));
  const paymentRows = await db()
    .select()
    .from(payments)
    .where(eq(payments.invoiceId, invoiceRows.at(-1)!.id))
    .orderBy(asc(payments.createdAt));
  const instances = await db()
    .select()
    .from(serviceInstances)
    .where(eq(serviceInstances.subscriptionId, subscriptionId));
  return { subscription: subscription!, invoices: invoiceRows, payments: paymentRows, instances };
}

// Fault injection in the database itself: the activation transaction inserts the
// instance row, so failing that insert makes the whole activation roll back after
// the provider has already charged, as a crash at that moment would.
async function breakActivation() {
  await db().execute(
    sql.raw(`create or replace function test_fail_activation() returns trigger language plpgsql as $$
      begin raise exception 'injected failure after the charge'; end $$`),
  );
  await db().execute(
    sql.raw(`create trigger test_fail_activation before insert on service_instances
      for each row execute function test_fail_activation()`),
  );
}
async function repairActivation() {
  await db().execute(sql.raw("drop trigger test_fail_activation on service_instances"));
}

describe("reconcilePendingPayments", () => {
  it("activates, exactly once, a subscription whose activation failed after the provider charged", async () => {
    await breakActivation();
    const service = await seedService(db());
    const crashed = await t.subscriptions.request(
      "/api/v1/subscriptions",
      json({ serviceSlug: service.slug }, t.h.bearer(t.customer)),
    );
    await repairActivation();
    expect(crashed.status).toBe(500);
    const problem = (await crashed.json()) as { code: string; detail: string };
    expect(problem.code).toBe("INTERNAL");
    expect(problem.detail).not.toContain("injected");

    const [sub] = await db()
      .select()
      .from(subscriptions)
      .where(eq(subscriptions.serviceId, service.id));
    const before = await state(sub!.id);
    expect(before.subscription.status).toBe("PENDING");
    expect(before.invoices.map((i) => i.status)).toEqual(["OPEN"]);
    expect(before.payments).toHaveLength(1);
    const pending = before.payments[0]!;
    expect(pending.status).toBe("PENDING");
    expect(pending.idempotencyKey).toMatch(/^pay_/);
    expect(before.instances).toEqual([]);
    expect(await outboxTypes(db(), sub!.id)).toEqual([]);
    // The provider did charge, and can say so by the key stored before the charge.
    expect(await t.provider.findCharge(pending.idempotencyKey)).toMatchObject({
      status: "succeeded",
    });

    // Retrying the subscribe must not charge a second time while this is unsettled.
    const retry = await t.subscriptions.request(
      "/api/v1/subscriptions",
      json({ serviceSlug: service.slug }, t.h.bearer(t.customer)),
    );
    expect(retry.status).toBe(409);

    // Two sweeps racing each other settle it once.
    const results = await Promise.all([reconcile(), reconcile()]);
    expect(results.reduce((n, r) => n + r.succeeded, 0)).toBe(1);
    const after = await state(sub!.id);
    expect(after.subscription.status).toBe("ACTIVE");
    expect(after.invoices.map((i) => i.status)).toEqual(["PAID"]);
    expect(after.payments.map((p) => [p.id, p.status])).toEqual([[pending.id, "SUCCEEDED"]]);
    expect(after.instances).toHaveLength(1);
    expect(await outboxTypes(db(), sub!.id)).toEqual(["subscription.activated"]);
    expect(await outboxTypes(db(), after.invoices[0]!.id)).toEqual(["invoice.paid"]);
    expect(await outboxTypes(db(), pending.id)).toEqual(["payment.succeeded"]);
    expect(
      t.provider.charges.filter((c) => c.request.idempotencyKey === pending.idempotencyKey),
    ).toHaveLength(1);
    const audits = await db()
      .select()
      .from(auditLog)
      .where(eq(auditLog.resourceId, sub!.id))
      .orderBy(auditLog.action);
    // The platform's settlement is on the customer's subscription: in their trail too.
    expect(audits).toMatchObject([
      {
        action: "subscription.activated",
        actorId: null,
        actorRole: "SYSTEM",
        ownerId: t.customer.id,
      },
      {
        action: "subscription.created",
        actorId: t.customer.id,
        actorRole: "CUSTOMER",
        ownerId: t.customer.id,
      },
    ]);

    // Nothing left to do the next time.
    expect(await reconcile()).toMatchObject({ checked: 0, succeeded: 0 });
  });

  it("fails a charge the provider never saw, freeing the customer to subscribe again", async () => {
    const { res, body, service } = await subscribeVia(t, t.other, {
      paymentMethod: SANDBOX_PAYMENT_METHODS.error,
    });
    expect(res.status).toBe(503);
    const result = await reconcile();
    expect(result).toMatchObject({ checked: 1, failed: 1 });
    const after = await state(body.subscriptionId!);
    expect(after.subscription.status).toBe("FAILED");
    expect(after.invoices.map((i) => i.status)).toEqual(["VOID"]);
    expect(after.payments).toMatchObject([{ status: "FAILED", failureCode: "charge_not_found" }]);
    expect(await outboxTypes(db(), after.payments[0]!.id)).toEqual(["payment.failed"]);
    const again = await t.subscriptions.request(
      "/api/v1/subscriptions",
      json({ serviceSlug: service.slug }, t.h.bearer(t.other)),
    );
    expect(again.status).toBe(201);
  });

  it("leaves payments younger than olderThan alone", async () => {
    const { body } = await subscribeVia(t, t.customer, {
      paymentMethod: SANDBOX_PAYMENT_METHODS.timeoutAfterCharge,
    });
    expect(await reconcile({ olderThan: new Date(Date.now() - 3_600_000) })).toMatchObject({
      checked: 0,
    });
    expect((await state(body.subscriptionId!)).payments[0]?.status).toBe("PENDING");
    await reconcile();
    expect((await state(body.subscriptionId!)).subscription.status).toBe("ACTIVE");
  });

  it("keeps a payment PENDING while the provider cannot answer", async () => {
    const { body } = await subscribeVia(t, t.customer, {
      paymentMethod: SANDBOX_PAYMENT_METHODS.timeoutAfterCharge,
    });
    const down: PaymentProvider = {
      name: t.provider.name,
      charge: t.provider.charge,
      attachPaymentMethod: t.provider.attachPaymentMethod,
      findCharge: async () => {
        throw new Error("provider unreachable");
      },
    };
    expect(await reconcile({ provider: down })).toMatchObject({ checked: 1, unresolved: 1 });
    expect((await state(body.subscriptionId!)).payments[0]?.status).toBe("PENDING");
    expect(await reconcile()).toMatchObject({ checked: 1, succeeded: 1 });
  });

  it("settles a renewal whose answer was lost, extending the period once", async () => {
    const { body: sub } = await subscribeVia(t, t.customer);
    const renew = (paymentMethod?: string) =>
      t.subscriptions.request(
        `/api/v1/subscriptions/${sub.id}/renew`,
        json(paymentMethod ? { paymentMethod } : {}, t.h.bearer(t.customer)),
      );
    expect((await renew(SANDBOX_PAYMENT_METHODS.timeoutAfterCharge)).status).toBe(503);
    expect((await renew()).status).toBe(409);
    expect(await reconcile()).toMatchObject({ checked: 1, succeeded: 1 });
    const after = await state(sub.id);
    expect(after.subscription.currentPeriodStart.toISOString()).toBe(sub.currentPeriodEnd);
    expect(after.invoices.map((i) => i.status)).toEqual(["PAID", "PAID"]);
    expect(await outboxTypes(db(), sub.id)).toEqual([
      "subscription.activated",
      "subscription.renewed",
    ]);
  });
});
