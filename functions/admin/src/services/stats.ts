import { instancesByStatus, mrrByCurrency, subscriptionsByStatus } from "@minispod/billing";
import { type Db, instanceStatus, subscriptionStatus, subscriptions, users } from "@minispod/db";
import { count, gte, sql } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";

const MONTHS = 12;

/** Every value of `keys` with its count (0 when absent). */
function tally<K extends string>(keys: readonly K[], rows: { status: K; n: number }[]) {
  const out = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  for (const row of rows) out[row.status] = row.n;
  return out;
}

/** "2026-03" for the UTC month of a date. */
const monthKey = (date: Date) => date.toISOString().slice(0, 7);

/** Rows per UTC month of `column`, from `since` on (NULLs never match). */
async function perMonth(
  db: Db,
  table: typeof users | typeof subscriptions,
  column: PgColumn,
  since: Date,
) {
  const month = sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM')`;
  const rows = await db
    .select({ month, n: count() })
    .from(table)
    .where(gte(column, since))
    .groupBy(month);
  return new Map(rows.map((r) => [r.month, r.n]));
}

/**
 * The operators' figures: subscriptions and instances by status, MRR by
 * currency (the same queries as the /metrics gauges), and per UTC month for
 * the last 12 months (the current one included): signups, and churn as
 * subscriptions cancelled and subscriptions expired in that month.
 */
export async function loadStats(db: Db, now: Date) {
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - (MONTHS - 1), 1));
  const [bySubscription, mrr, byInstance, signups, cancelled, expired] = await Promise.all([
    subscriptionsByStatus(db),
    mrrByCurrency(db),
    instancesByStatus(db),
    perMonth(db, users, users.createdAt, first),
    perMonth(db, subscriptions, subscriptions.cancelledAt, first),
    perMonth(db, subscriptions, subscriptions.expiredAt, first),
  ]);
  const months = Array.from({ length: MONTHS }, (_, i) => {
    const key = monthKey(new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + i, 1)));
    const c = cancelled.get(key) ?? 0;
    const e = expired.get(key) ?? 0;
    return { month: key, signups: signups.get(key) ?? 0, cancelled: c, expired: e, churned: c + e };
  });
  return {
    generatedAt: now.toISOString(),
    subscriptions: tally(subscriptionStatus.enumValues, bySubscription),
    instances: tally(instanceStatus.enumValues, byInstance),
    mrr: mrr.map((r) => ({ currency: r.currency, amountMinor: r.mrrMinor })),
    months,
  };
}
