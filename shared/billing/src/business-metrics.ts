import {
  type Db,
  deadEvents,
  emailMessages,
  invoices,
  outboxEvents,
  payments,
  serviceCatalog,
  serviceInstances,
  subscriptions,
  webhookDeliveries,
} from "@minispod/db";
import type { Metrics } from "@minispod/shared";
import { count, isNull, min, sql, sum } from "drizzle-orm";
import { Gauge } from "prom-client";

/** Subscriptions by status (one grouped COUNT). Shared by the metrics and the admin stats. */
export async function subscriptionsByStatus(db: Db) {
  return db
    .select({ status: subscriptions.status, n: count() })
    .from(subscriptions)
    .groupBy(subscriptions.status);
}

/**
 * Monthly recurring revenue in minor units, by currency: the catalog price of
 * every ACTIVE or PAST_DUE subscription (all periods are monthly).
 */
export async function mrrByCurrency(db: Db): Promise<{ currency: string; mrrMinor: number }[]> {
  const rows = await db
    .select({ currency: serviceCatalog.currency, total: sum(serviceCatalog.priceMinor) })
    .from(subscriptions)
    .innerJoin(serviceCatalog, sql`${serviceCatalog.id} = ${subscriptions.serviceId}`)
    .where(sql`${subscriptions.status} in ('ACTIVE', 'PAST_DUE')`)
    .groupBy(serviceCatalog.currency);
  return rows.map((r) => ({ currency: r.currency, mrrMinor: Number(r.total ?? 0) }));
}

/** Instances by status (one grouped COUNT). */
export async function instancesByStatus(db: Db) {
  return db
    .select({ status: serviceInstances.status, n: count() })
    .from(serviceInstances)
    .groupBy(serviceInstances.status);
}

/**
 * Business figures read from the database at scrape time (not counted in
 * process: functions scale to zero and run as many replicas, so only the
 * database knows the totals). One function exposes them, outbox-relay, so a
 * Prometheus summing across functions does not count them twice.
 *
 * The grouped counts read whole tables, and invoices, payments, emails and
 * webhook deliveries only grow: at a few million rows each, one scrape costs
 * the database about a second. So each count is read at most once per
 * `cacheSeconds` (by the injected clock) and scrapes in between answer the
 * last figures; 0 reads them on every scrape. The outbox backlog and its age,
 * which the relay's alerts watch, are one partial-index read and stay live.
 *
 * @example
 * registerBusinessMetrics(deps.metrics, deps.db, deps.now, { cacheSeconds: 60 });
 */
export function registerBusinessMetrics(
  metrics: Metrics,
  db: Db,
  now: () => Date,
  options: { cacheSeconds?: number } = {},
): void {
  const registers = [metrics.registry];
  const cacheMs = (options.cacheSeconds ?? 0) * 1000;
  const grouped = <L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    read: () => Promise<{ labels: Record<L, string>; value: number }[]>,
  ) => {
    // The last read, kept while fresh; a failed read is not kept.
    let last: { at: number; rows: ReturnType<typeof read> } | undefined;
    const cachedRead = () => {
      const at = now().getTime();
      if (!last || at - last.at >= cacheMs || at < last.at) {
        const rows = read();
        last = { at, rows };
        rows.catch(() => {
          if (last?.rows === rows) last = undefined;
        });
      }
      return last.rows;
    };
    return new Gauge<L>({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        const rows = await cachedRead();
        this.reset();
        for (const { labels, value } of rows) this.set(labels, value);
      },
    });
  };

  grouped("minispod_subscriptions", "Subscriptions by status.", ["status"], async () =>
    (await subscriptionsByStatus(db)).map((r) => ({ labels: { status: r.status }, value: r.n })),
  );

  grouped(
    "minispod_mrr_minor",
    "Monthly recurring revenue in minor units, by currency: the catalog price of every ACTIVE or PAST_DUE subscription (all periods are monthly).",
    ["currency"],
    async () =>
      (await mrrByCurrency(db)).map((r) => ({
        labels: { currency: r.currency },
        value: r.mrrMinor,
      })),
  );

  grouped(
    "minispod_instances",
    "Instances by status (FAILED = provisioning failed).",
    ["status"],
    async () =>
      (await instancesByStatus(db)).map((r) => ({ labels: { status: r.status }, value: r.n })),
  );

  grouped("minispod_invoices", "Invoices by status.", ["status"], async () =>
    (
      await db
        .select({ status: invoices.status, n: count() })
        .from(invoices)
        .groupBy(invoices.status)
    ).map((r) => ({ labels: { status: r.status }, value: r.n })),
  );

  grouped("minispod_payments", "Payment attempts by outcome.", ["status"], async () =>
    (
      await db
        .select({ status: payments.status, n: count() })
        .from(payments)
        .groupBy(payments.status)
    ).map((r) => ({ labels: { status: r.status }, value: r.n })),
  );

  grouped(
    "minispod_emails",
    "Emails by template and outcome (sent, failed, ...).",
    ["template", "status"],
    async () =>
      (
        await db
          .select({ template: emailMessages.template, status: emailMessages.status, n: count() })
          .from(emailMessages)
          .groupBy(emailMessages.template, emailMessages.status)
      ).map((r) => ({ labels: { template: r.template, status: r.status }, value: r.n })),
  );

  grouped(
    "minispod_webhook_deliveries",
    "Webhook deliveries by status; success rate = SUCCEEDED / (SUCCEEDED + FAILED).",
    ["status"],
    async () =>
      (
        await db
          .select({ status: webhookDeliveries.status, n: count() })
          .from(webhookDeliveries)
          .groupBy(webhookDeliveries.status)
      ).map((r) => ({ labels: { status: r.status }, value: r.n })),
  );

  grouped(
    "minispod_dead_events",
    "Events the broker dead-lettered, by type and whether they were replayed.",
    ["type", "replayed"],
    async () =>
      (
        await db
          .select({
            type: deadEvents.type,
            replayed: sql<boolean>`${deadEvents.replayedAt} is not null`,
            n: count(),
          })
          .from(deadEvents)
          .groupBy(deadEvents.type, sql`${deadEvents.replayedAt} is not null`)
      ).map((r) => ({ labels: { type: r.type, replayed: String(r.replayed) }, value: r.n })),
  );

  // The backlog's size and age share one query, read once per scrape.
  let backlog: Promise<{ size: number; oldest: Date | null }> | undefined;
  const readBacklog = () => {
    backlog ??= db
      .select({ n: count(), oldest: min(outboxEvents.time) })
      .from(outboxEvents)
      .where(isNull(outboxEvents.publishedAt))
      .then(([row]) => ({ size: row?.n ?? 0, oldest: row?.oldest ?? null }))
      .finally(() => {
        setImmediate(() => {
          backlog = undefined;
        });
      });
    return backlog;
  };
  new Gauge({
    name: "minispod_outbox_backlog",
    help: "Outbox events not yet published to the broker.",
    registers,
    async collect() {
      this.set((await readBacklog()).size);
    },
  });
  new Gauge({
    name: "minispod_outbox_oldest_age_seconds",
    help: "Age of the oldest unpublished outbox event (0 when none).",
    registers,
    async collect() {
      const { oldest } = await readBacklog();
      this.set(oldest ? Math.max(0, (now().getTime() - new Date(oldest).getTime()) / 1000) : 0);
    },
  });
}
