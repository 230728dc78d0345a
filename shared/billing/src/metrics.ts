import { type Db, outboxEvents } from "@minispod/db";
import { type Metrics, perRegistry } from "@minispod/shared";
import { isNull, sql } from "drizzle-orm";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export type ChargeOutcomeLabel = "attempted" | "succeeded" | "failed" | "unknown";

/** What the sweepers tell operators about each run, by job. */
export interface SweepMetrics {
  rowsExamined: Counter<"job">;
  rowsChanged: Counter<"job">;
  charges: Counter<"outcome">;
  duration: Histogram<"job">;
  /** Records one run: its duration and row counts. */
  observe(job: string, run: { seconds: number; examined: number; changed: number }): void;
}

/**
 * The sweep metrics of a function's registry (made once per registry), plus
 * two gauges read at scrape time: the outbox backlog (unpublished events) and
 * the age of the oldest one, so a stuck relay or broker shows.
 *
 * @example
 * const metrics = sweepMetrics(deps.metrics.registry, { db: deps.db, now: deps.now });
 * metrics.observe("expire", { seconds: 0.4, examined: 120, changed: 118 });
 */
export const sweepMetrics = perRegistry(
  (registry: Registry, outbox: { db: Db; now: () => Date }): SweepMetrics => {
    const rowsExamined = new Counter({
      name: "sweep_rows_examined_total",
      help: "Rows a sweep claimed as due, by job.",
      labelNames: ["job"],
      registers: [registry],
    });
    const rowsChanged = new Counter({
      name: "sweep_rows_changed_total",
      help: "Rows a sweep changed (renewed, expired, purged, reminded, deleted), by job.",
      labelNames: ["job"],
      registers: [registry],
    });
    const charges = new Counter({
      name: "sweep_charges_total",
      help: "Renewal charges by outcome: attempted, succeeded, failed (declined), unknown (left for reconciliation).",
      labelNames: ["outcome"],
      registers: [registry],
    });
    const duration = new Histogram({
      name: "sweep_run_duration_seconds",
      help: "Duration of one sweep run, by job.",
      labelNames: ["job"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    });
    new Gauge({
      name: "outbox_backlog_events",
      help: "Outbox events not yet published to the broker.",
      registers: [registry],
      async collect() {
        const [row] = await outbox.db
          .select({ n: sql<number>`count(*)::int` })
          .from(outboxEvents)
          .where(isNull(outboxEvents.publishedAt));
        this.set(Number(row?.n ?? 0));
      },
    });
    new Gauge({
      name: "outbox_oldest_unpublished_age_seconds",
      help: "Age of the oldest outbox event not yet published (0 when none).",
      registers: [registry],
      async collect() {
        const [row] = await outbox.db
          .select({ oldest: sql<string | null>`min(${outboxEvents.createdAt})` })
          .from(outboxEvents)
          .where(isNull(outboxEvents.publishedAt));
        const oldest = row?.oldest ? new Date(row.oldest).getTime() : undefined;
        this.set(oldest ? Math.max(0, (outbox.now().getTime() - oldest) / 1000) : 0);
      },
    });
    return {
      rowsExamined,
      rowsChanged,
      charges,
      duration,
      observe(job, run) {
        duration.observe({ job }, run.seconds);
        rowsExamined.inc({ job }, run.examined);
        rowsChanged.inc({ job }, run.changed);
      },
    };
  },
);

/** Final statuses a payment settles to, each a series of `minispod_payments_settled_total`. */
export type SettledStatusLabel = "SUCCEEDED" | "FAILED";

/**
 * Payments settled by this process, by final status: counted after the
 * settling transaction commits, by whichever function settled it (the request
 * that charged, the provider's callback, the renewal sweep, reconciliation).
 * A counter, so `increase()` over it survives a replica restarting or scaling
 * to zero (a new process starts again at 0, which Prometheus reads as a reset);
 * `minispod_payments{status}` stays the gauge of how many are in each status.
 * Both series exist from the first scrape, at 0, so the first failure of a
 * fresh replica is an increase Prometheus can see.
 *
 * @example
 * paymentMetrics(deps.metrics).settled.inc({ status: "FAILED" });
 */
export function paymentMetrics(metrics: Metrics): { settled: Counter<"status"> } {
  return paymentCounters(metrics.registry);
}

const paymentCounters = perRegistry((registry: Registry) => {
  const settled = new Counter({
    name: "minispod_payments_settled_total",
    help: "Payments settled by this replica, by final status (SUCCEEDED, FAILED = declined).",
    labelNames: ["status"],
    registers: [registry],
  });
  for (const status of ["SUCCEEDED", "FAILED"] satisfies SettledStatusLabel[])
    settled.inc({ status }, 0);
  return { settled };
});
