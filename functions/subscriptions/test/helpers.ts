import { billingContextOf, renewDueSubscriptions } from "@minispod/billing";
import type { PaymentProvider } from "@minispod/billing/payments";
import { type SandboxPaymentProvider, sandboxPaymentProvider } from "@minispod/billing/payments";
import { type Db, outboxEvents, type serviceCatalog, subscriptions } from "@minispod/db";
import type { AppEnv, EventSender } from "@minispod/shared";
import {
  createHarness,
  type Harness,
  json,
  seedCatalogEntry,
  type TestUser,
} from "@minispod/shared/testing";
import { asc, eq } from "drizzle-orm";
import type { Hono } from "hono";
import { createApp } from "../src/app";
import type { SubscriptionsDeps } from "../src/deps";
import { subscriptionsFunction } from "../src/function";

export type Service = typeof serviceCatalog.$inferSelect;

export interface SubscriptionsTest {
  h: Harness;
  app: Hono<AppEnv>;
  deps: SubscriptionsDeps;
  provider: SandboxPaymentProvider;
  customer: TestUser;
  other: TestUser;
  admin: TestUser;
  service: Service;
  /** Another app over the same database with its own provider or event sender. */
  appWith(overrides: { provider?: PaymentProvider; events?: EventSender }): Hono<AppEnv>;
}

export async function setupSubscriptions(
  options: { latencyMs?: number; env?: Record<string, string> } = {},
): Promise<SubscriptionsTest> {
  const h = await createHarness();
  const provider = sandboxPaymentProvider({ latencyMs: options.latencyMs ?? 0 });
  const deps: SubscriptionsDeps = { ...h.context(subscriptionsFunction, options.env), provider };
  const service = await seedService(h.database.db);
  return {
    h,
    app: createApp(deps),
    deps,
    provider,
    customer: await h.user(),
    other: await h.user(),
    admin: await h.user({ role: "ADMIN" }),
    service,
    appWith: (overrides) => createApp({ ...deps, ...overrides }),
  };
}

/** A catalog row written directly: the catalog function is not under test here. */
export function seedService(db: Db, overrides: Partial<typeof serviceCatalog.$inferInsert> = {}) {
  return seedCatalogEntry(db, { description: "Git hosting", ...overrides });
}

export function subscribeRequest(
  t: SubscriptionsTest,
  user: TestUser,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  return t.app.request("/api/v1/subscriptions", json(body, { ...t.h.bearer(user), ...headers }));
}

export interface SubscriptionBody {
  id: string;
  userId: string;
  status: string;
  service: { id: string; slug: string; name: string };
  autoRenew: boolean;
  cardOnFile: boolean;
  currentPeriodStart: string;
  currentPeriodEnd: string;
  cancelAtPeriodEnd: boolean;
  cancelledAt: string | null;
  purgedAt: string | null;
  createdAt: string;
  instance: { id: string; status: string; url: string } | null;
  latestInvoice: {
    id: string;
    number: string;
    status: string;
    amountMinor: number;
    currency: string;
    periodStart: string;
    periodEnd: string;
  } | null;
  invoices: { id: string; status: string; periodStart: string }[];
}

/** Subscribes and insists on 201. */
export async function subscribed(
  t: SubscriptionsTest,
  user: TestUser = t.customer,
  body: Record<string, unknown> = {},
): Promise<SubscriptionBody> {
  const service = body.serviceSlug ? undefined : await seedService(t.h.database.db);
  const res = await subscribeRequest(t, user, { serviceSlug: service?.slug, ...body });
  if (res.status !== 201) throw new Error(`subscribe failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as SubscriptionBody;
}

/**
 * The fixture of the lifecycle tests on the injected clock: the app with
 * `env`, the clock at `start`, and one subscription made then (`target`,
 * for the security cases).
 */
export async function setupAtTime(
  start: Date,
  env: Record<string, string>,
): Promise<{ t: SubscriptionsTest; target: SubscriptionBody }> {
  const t = await setupSubscriptions({ env });
  t.h.clock.now = start;
  return { t, target: await subscribed(t) };
}

/** The subscription's row as stored now. */
export async function subscriptionRow(t: SubscriptionsTest, id: string) {
  const [row] = await t.h.database.db.select().from(subscriptions).where(eq(subscriptions.id, id));
  if (!row) throw new Error(`no subscription ${id}`);
  return row;
}

/** The renewal sweep at `at` (the clock moved there first), as the billing-sweeper runs it. */
export async function renewalSweep(t: SubscriptionsTest, at: Date, windowSeconds: number) {
  t.h.clock.now = at;
  return renewDueSubscriptions({
    ctx: billingContextOf(t.deps),
    now: at,
    windowSeconds,
    batchSize: 50,
    maxBatches: 4,
    concurrency: 1,
  });
}

export async function outboxFor(db: Db, subject: string) {
  return db
    .select()
    .from(outboxEvents)
    .where(eq(outboxEvents.subject, subject))
    .orderBy(asc(outboxEvents.createdAt));
}

/** Records what a service asked to send, sending nothing (outbox rows stay untouched). */
export function recordingSender(): EventSender & { kicked: string[] } {
  const kicked: string[] = [];
  return {
    kicked,
    kick(ids) {
      kicked.push(...(ids ?? []));
    },
    flush: async () => ({ published: 0, failed: 0 }),
    idle: async () => {},
  };
}
