import { addDays, type BillingContext, billingContextOf, subscribe } from "@minispod/billing";
import { sandboxPaymentProvider } from "@minispod/billing/payments";
import { seedCatalogService, steerableProvider } from "@minispod/billing/testing";
import { invoices, outboxEvents, payments, subscriptions } from "@minispod/db";
import type { AppEnv } from "@minispod/shared";
import { createHarness, type Harness, type TestUser } from "@minispod/shared/testing";
import { asc, eq, inArray } from "drizzle-orm";
import type { Hono } from "hono";
import { expect } from "vitest";
import { createApp } from "../src/app";
import type { BillingSweeperDeps } from "../src/deps";
import { billingSweeperFunction } from "../src/function";

export interface SweeperTest {
  h: Harness;
  app: Hono<AppEnv>;
  deps: BillingSweeperDeps;
  ctx: BillingContext;
  sandbox: ReturnType<typeof sandboxPaymentProvider>;
  steer: ReturnType<typeof steerableProvider>["set"];
  customer: TestUser;
}

export const START = new Date("2026-03-01T10:00:00.000Z");

export async function setupSweeper(env: Record<string, string> = {}): Promise<SweeperTest> {
  const h = await createHarness();
  h.clock.now = START;
  const sandbox = sandboxPaymentProvider();
  const steerable = steerableProvider(sandbox);
  const deps: BillingSweeperDeps = {
    ...h.context(billingSweeperFunction, env),
    provider: steerable.provider,
  };
  return {
    h,
    app: createApp(deps),
    deps,
    ctx: billingContextOf(deps),
    sandbox,
    steer: steerable.set,
    customer: await h.user(),
  };
}

/** POST /cron/<job> at `at` on the injected clock. */
export async function cron(t: SweeperTest, job: "renew" | "purge-keys", at: Date) {
  t.h.clock.now = at;
  const res = await t.app.request(`/cron/${job}`, { method: "POST" });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, number> & {
    reconciled: Record<string, number>;
  };
}

/** A paid, ACTIVE, auto-renewing subscription started at START. */
export async function activeSubscription(t: SweeperTest, user: TestUser = t.customer) {
  t.h.clock.now = START;
  const service = await seedCatalogService(t.h.database.db);
  const detail = await subscribe({
    ctx: t.ctx,
    input: { userId: user.id, serviceSlug: service.slug, actor: user },
  });
  expect(detail.status).toBe("ACTIVE");
  return { id: detail.id, end: new Date(detail.currentPeriodEnd), service };
}

export async function eventTypes(t: SweeperTest, subjects: string[]) {
  const rows = await t.h.database.db
    .select({ type: outboxEvents.type })
    .from(outboxEvents)
    .where(inArray(outboxEvents.subject, subjects))
    .orderBy(asc(outboxEvents.createdAt));
  return rows.map((r) => r.type.replace("dev.minispod.", ""));
}

export async function state(t: SweeperTest, subscriptionId: string) {
  const db = t.h.database.db;
  const [subscription] = await db
    .select()
    .from(subscriptions)
    .where(eq(subscriptions.id, subscriptionId));
  const invoiceRows = await db
    .select()
    .from(invoices)
    .where(eq(invoices.subscriptionId, subscriptionId))
    .orderBy(asc(invoices.periodStart));
  // By period, then attempt: the first charge's row has the database's clock, the
  // sweep's rows the injected one.
  const paymentRows = (
    await db
      .select({ payment: payments })
      .from(payments)
      .innerJoin(invoices, eq(invoices.id, payments.invoiceId))
      .where(eq(invoices.subscriptionId, subscriptionId))
      .orderBy(asc(invoices.periodStart), asc(payments.createdAt))
  ).map((r) => r.payment);
  return { subscription: subscription!, invoices: invoiceRows, payments: paymentRows };
}

export const hours = (date: Date, n: number) => new Date(date.getTime() + n * 3_600_000);
export { addDays };
