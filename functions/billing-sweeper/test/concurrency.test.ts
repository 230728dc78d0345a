import { seedCatalogService, seedDueSubscriptions } from "@minispod/billing/testing";
import {
  createDb,
  type Database,
  invoices,
  outboxEvents,
  payments,
  subscriptions,
} from "@minispod/db";
import { createEventSender } from "@minispod/shared";
import { and, count, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { hours, START, type SweeperTest, setupSweeper } from "./helpers";

const SUBSCRIPTIONS = 5_000;
const SWEEPS = 8;

let t: SweeperTest;
const pools: Database[] = [];
beforeAll(async () => {
  t = await setupSweeper({ BILLING_SWEEP_BATCH: "100", BILLING_SWEEP_MAX_BATCHES: "100" });
});
afterAll(async () => {
  for (const pool of pools) await pool.close();
  await t.h.close();
});

describe("concurrent billing sweeps", () => {
  it(`${SWEEPS} sweeps at once over ${SUBSCRIPTIONS} due subscriptions: one invoice and one charge per subscription and period`, async () => {
    const db = t.h.database.db;
    const service = await seedCatalogService(db);
    const periodEnd = hours(START, 2);
    await seedDueSubscriptions(db, {
      serviceId: service.id,
      count: SUBSCRIPTIONS,
      periodEnd,
      autoRenew: true,
      customers: 200,
    });

    // Eight replicas: each its own pool of connections and its own event sender.
    const sweepers = Array.from({ length: SWEEPS }, () => {
      const database = createDb(t.h.databaseUrl, { max: 3 });
      pools.push(database);
      return createApp({
        ...t.deps,
        db: database.db,
        database,
        events: createEventSender(database.db, t.h.publisher, t.deps.logger),
      });
    });
    t.h.clock.now = hours(START, 1);
    const runs = await Promise.all(
      sweepers.map(async (app) => {
        const res = await app.request("/cron/renew", { method: "POST" });
        expect(res.status).toBe(200);
        return (await res.json()) as { attempted: number; succeeded: number; failed: number };
      }),
    );
    // The work was split, not repeated: every charge attempted exactly once overall.
    expect(runs.reduce((n, r) => n + r.attempted, 0)).toBe(SUBSCRIPTIONS);
    expect(runs.reduce((n, r) => n + r.succeeded, 0)).toBe(SUBSCRIPTIONS);
    expect(runs.filter((r) => r.attempted > 0).length).toBeGreaterThan(1);

    // Every due subscription handled: renewed into the next period.
    const [left] = await db
      .select({ n: count() })
      .from(subscriptions)
      .where(
        and(
          eq(subscriptions.serviceId, service.id),
          sql`${subscriptions.currentPeriodStart} <> ${periodEnd.toISOString()}::timestamptz`,
        ),
      );
    expect(left?.n).toBe(0);
    // Exactly one invoice per subscription and period, all paid.
    const perSubscription = await db
      .select({ subscriptionId: invoices.subscriptionId, n: count() })
      .from(invoices)
      .innerJoin(subscriptions, eq(subscriptions.id, invoices.subscriptionId))
      .where(eq(subscriptions.serviceId, service.id))
      .groupBy(invoices.subscriptionId);
    expect(perSubscription).toHaveLength(SUBSCRIPTIONS);
    expect(perSubscription.every((r) => r.n === 1)).toBe(true);
    // Exactly one successful payment per invoice, nothing left PENDING or FAILED.
    const byStatus = await db
      .select({ status: payments.status, n: count() })
      .from(payments)
      .groupBy(payments.status);
    expect(byStatus).toEqual([{ status: "SUCCEEDED", n: SUBSCRIPTIONS }]);
    // Zero double charges at the provider: one charge per invoice.
    const chargesPerInvoice = new Map<string, number>();
    for (const charge of t.sandbox.charges) {
      const invoiceId = charge.request.metadata?.invoiceId ?? "";
      chargesPerInvoice.set(invoiceId, (chargesPerInvoice.get(invoiceId) ?? 0) + 1);
    }
    expect(chargesPerInvoice.size).toBe(SUBSCRIPTIONS);
    expect([...chargesPerInvoice.values()].every((n) => n === 1)).toBe(true);
    // One subscription.renewed per subscription, all published.
    const [renewedEvents] = await db
      .select({ n: count() })
      .from(outboxEvents)
      .where(eq(outboxEvents.type, "dev.minispod.subscription.renewed"));
    expect(renewedEvents?.n).toBe(SUBSCRIPTIONS);
    const [unpublished] = await db
      .select({ n: count() })
      .from(outboxEvents)
      .where(sql`${outboxEvents.publishedAt} is null`);
    expect(unpublished?.n).toBe(0);

    // Another round finds nothing due.
    const again = await sweepers[0]!.request("/cron/renew", { method: "POST" });
    expect(((await again.json()) as { attempted: number }).attempted).toBe(0);
  }, 300_000);
});
