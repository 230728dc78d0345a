import { randomUUID } from "node:crypto";
import {
  type Db,
  type InstanceStatus,
  invoices,
  type SubscriptionStatus,
  serviceInstances,
  subscriptions,
} from "@minispod/db";
import type { AppEnv } from "@minispod/shared";
import {
  createHarness,
  type Harness,
  seedCatalogEntry,
  type TestUser,
} from "@minispod/shared/testing";
import type { Hono } from "hono";
import { expect, it } from "vitest";
import { createApp } from "../src/app";
import type { AdminDeps } from "../src/deps";
import { adminFunction } from "../src/function";

export interface AdminTest {
  h: Harness;
  app: Hono<AppEnv>;
  deps: AdminDeps;
  customer: TestUser;
  other: TestUser;
  admin: TestUser;
  superAdmin: TestUser;
  close(): Promise<void>;
}

/**
 * The admin API over a fresh test database (real PostgreSQL and Redis), with
 * tokens for a CUSTOMER (and another one), an ADMIN and a SUPER_ADMIN.
 *
 * @example
 * let t: AdminTest;
 * beforeAll(async () => { t = await setupAdmin(); });
 * afterAll(() => t.close());
 * await t.app.request("/api/v1/admin/users", { headers: t.h.bearer(t.admin) });
 */
export async function setupAdmin(): Promise<AdminTest> {
  const h = await createHarness();
  // The trail tests send the admin's address as X-Forwarded-For from one proxy.
  const deps = h.context(adminFunction, { TRUST_PROXY_HOPS: "1" });
  return {
    h,
    app: createApp(deps),
    deps,
    customer: await h.user({ name: "Carol Customer" }),
    other: await h.user({ name: "Oscar Other" }),
    admin: await h.user({ role: "ADMIN", name: "Ada Admin" }),
    superAdmin: await h.user({ role: "SUPER_ADMIN", name: "Sam Super" }),
    close: () => h.close(),
  };
}

export interface Holding {
  serviceId: string;
  subscriptionId: string;
  instanceId: string | null;
  invoiceId: string;
}

/**
 * A subscription as billing leaves it, written directly (billing is other
 * functions' business): its service, one invoice, and an instance unless
 * `instance: null`. EUR 9.00 a month unless the service says otherwise.
 */
export async function seedHolding(
  db: Db,
  userId: string,
  options: {
    status?: SubscriptionStatus;
    instance?: InstanceStatus | null;
    periodEnd?: Date;
    serviceId?: string;
    priceMinor?: number;
    currency?: string;
    cancelledAt?: Date;
    expiredAt?: Date;
    autoRenew?: boolean;
  } = {},
): Promise<Holding> {
  const serviceId =
    options.serviceId ??
    (
      await seedCatalogEntry(db, {
        priceMinor: options.priceMinor ?? 900,
        currency: options.currency ?? "EUR",
        allowMultiple: true,
      })
    ).id;
  const periodEnd = options.periodEnd ?? new Date(Date.now() + 20 * 86_400_000);
  const periodStart = new Date(periodEnd.getTime() - 30 * 86_400_000);
  const [subscription] = await db
    .insert(subscriptions)
    .values({
      userId,
      serviceId,
      status: options.status ?? "ACTIVE",
      currentPeriodStart: periodStart,
      currentPeriodEnd: periodEnd,
      exclusive: false,
      autoRenew: options.autoRenew ?? true,
      cancelledAt: options.cancelledAt ?? null,
      expiredAt: options.expiredAt ?? null,
    })
    .returning();
  const [invoice] = await db
    .insert(invoices)
    .values({
      number: `INV-TEST-${randomUUID().slice(0, 12)}`,
      subscriptionId: subscription!.id,
      userId,
      periodStart,
      periodEnd,
      amountMinor: options.priceMinor ?? 900,
      currency: options.currency ?? "EUR",
      status: "PAID",
      paidAt: periodStart,
    })
    .returning();
  let instanceId: string | null = null;
  if (options.instance !== null) {
    const host = `i-${randomUUID().slice(0, 12)}.apps.test`;
    const [instance] = await db
      .insert(serviceInstances)
      .values({
        subscriptionId: subscription!.id,
        namespace: `c-${userId.slice(0, 8)}`,
        objectName: `app-${randomUUID().slice(0, 8)}`,
        host,
        url: `https://${host}`,
        status: options.instance ?? "RUNNING",
      })
      .returning();
    instanceId = instance!.id;
  }
  return { serviceId, subscriptionId: subscription!.id, instanceId, invoiceId: invoice!.id };
}

/** The fields a 400 problem names. */
export async function invalidFields(response: Response): Promise<string[]> {
  const body = (await response.json()) as { code: string; errors?: { field: string }[] };
  return body.errors?.map((e) => e.field) ?? [];
}

/**
 * One test a bad query: 400, naming the field.
 *
 * @example
 * rejectsQueries(() => t, "/api/v1/admin/users", [["role=ROOT", "role"]]);
 */
export function rejectsQueries(
  setup: () => AdminTest,
  path: string,
  cases: [query: string, field: string][],
  caller: (t: AdminTest) => TestUser = (t) => t.admin,
) {
  it.each(cases)("answers 400 to %s", async (query, field) => {
    const t = setup();
    const response = await t.app.request(`${path}?${query}`, { headers: t.h.bearer(caller(t)) });
    expect(response.status).toBe(400);
    expect(await invalidFields(response)).toContain(field);
  });
}
