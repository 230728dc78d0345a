import {
  instanceStatusEvents,
  invoices,
  serviceCatalog,
  serviceInstances,
  subscriptionReminders,
  subscriptions,
} from "@minispod/db";
import { type AuditEntry, enqueueEvents, recordAudits, systemActor } from "@minispod/shared";
import { and, eq, gt, inArray, isNull, lte, notExists, notInArray, or, sql } from "drizzle-orm";
import type { BillingContext } from "./context";
import { subscriptionEventData } from "./events";
import { addDays } from "./period";
import { pendingPaymentOf } from "./records";

type SweepContext = Pick<BillingContext, "db" | "logger" | "source" | "settings">;

export interface SweepBatchOptions {
  ctx: SweepContext;
  /** "Now" of this run, from the injected clock. */
  now: Date;
  /** Rows claimed per transaction. */
  batchSize: number;
  /** Most batches per run: bounds one invocation; the next run continues. */
  maxBatches: number;
}

export interface SweepStepResult {
  /** Rows claimed (locked) as due. */
  examined: number;
  /** Rows changed (reminders recorded, subscriptions expired or purged). */
  changed: number;
  /** Outbox ids written, for the caller to send after the commits. */
  eventIds: string[];
  /** True when the last batch was full: more may be due than this run took. */
  more: boolean;
}

const serviceRef = { id: serviceCatalog.id, slug: serviceCatalog.slug, name: serviceCatalog.name };

/**
 * Runs `batch` until it claims less than a full batch or `maxBatches` ran.
 * Each batch is one transaction that locks its rows with SKIP LOCKED, so
 * concurrent sweeps split the work instead of waiting on each other.
 */
async function inBatches(
  options: SweepBatchOptions,
  batch: (limit: number) => Promise<{ examined: number; changed: number; eventIds: string[] }>,
): Promise<SweepStepResult> {
  const total: SweepStepResult = { examined: 0, changed: 0, eventIds: [], more: false };
  for (let i = 0; i < options.maxBatches; i++) {
    const one = await batch(options.batchSize);
    total.examined += one.examined;
    total.changed += one.changed;
    total.eventIds.push(...one.eventIds);
    total.more = one.examined === options.batchSize;
    if (!total.more) break;
  }
  return total;
}

/**
 * Reminds customers whose period ends without a renewal (auto-renew off):
 * `subscription.expiring_soon` at each of `reminderDays` before the end
 * (e.g. 7, 3, 1), each once per period. A sweep that runs late sends only the
 * nearest threshold passed, never a burst of stale ones. Each reminder is a
 * row in `subscription_reminders` (primary key subscription, period end,
 * threshold), so overlapping sweeps and reruns send it once.
 */
export async function sendExpiryReminders(
  options: SweepBatchOptions & { reminderDays: number[] },
): Promise<SweepStepResult> {
  const { ctx, now } = options;
  const days = [...options.reminderDays].sort((a, b) => a - b);
  if (days.length === 0) return { examined: 0, changed: 0, eventIds: [], more: false };
  const horizon = addDays(now, days.at(-1)!);
  // The nearest threshold reached: the smallest d with end <= now + d days. The days
  // are validated integers, so they are inlined as an array literal.
  const threshold = sql<number>`(select min(d) from unnest(${sql.raw(`array[${days.map(Number).join(",")}]`)}::int[]) as d where ${subscriptions.currentPeriodEnd} <= ${now.toISOString()}::timestamptz + d * interval '1 day')`;
  return inBatches(options, (limit) =>
    ctx.db.transaction(async (tx) => {
      const due = await tx
        .select({ subscription: subscriptions, service: serviceRef, daysBefore: threshold })
        .from(subscriptions)
        .innerJoin(serviceCatalog, eq(serviceCatalog.id, subscriptions.serviceId))
        .where(
          and(
            eq(subscriptions.status, "ACTIVE"),
            eq(subscriptions.autoRenew, false),
            isNull(subscriptions.purgedAt),
            gt(subscriptions.currentPeriodEnd, now),
            lte(subscriptions.currentPeriodEnd, horizon),
            notExists(
              tx
                .select({ one: sql`1` })
                .from(subscriptionReminders)
                .where(
                  and(
                    eq(subscriptionReminders.subscriptionId, subscriptions.id),
                    eq(subscriptionReminders.periodEnd, subscriptions.currentPeriodEnd),
                    sql`${subscriptionReminders.daysBefore} <= ${threshold}`,
                  ),
                ),
            ),
          ),
        )
        .orderBy(subscriptions.currentPeriodEnd)
        .limit(limit)
        .for("update", { of: subscriptions, skipLocked: true });
      if (due.length === 0) return { examined: 0, changed: 0, eventIds: [] };
      const recorded = await tx
        .insert(subscriptionReminders)
        .values(
          due.map((row) => ({
            subscriptionId: row.subscription.id,
            periodEnd: row.subscription.currentPeriodEnd,
            daysBefore: Number(row.daysBefore),
            sentAt: now,
          })),
        )
        .onConflictDoNothing()
        .returning({ subscriptionId: subscriptionReminders.subscriptionId });
      const sent = new Set(recorded.map((r) => r.subscriptionId));
      const eventIds = await enqueueEvents(
        tx,
        due
          .filter((row) => sent.has(row.subscription.id))
          .map((row) => ({
            type: "subscription.expiring_soon" as const,
            source: ctx.source,
            subject: row.subscription.id,
            data: {
              ...subscriptionEventData(row.subscription, row.service),
              daysLeft: Number(row.daysBefore),
            },
          })),
      );
      return { examined: due.length, changed: recorded.length, eventIds };
    }),
  );
}

/**
 * Expires subscriptions whose period ended without a renewal (auto-renew off;
 * an auto-renewing one is the billing sweep's, through dunning): EXPIRED,
 * open invoices VOID, `subscription.expired` (the provisioner suspends the
 * instance, keeping its data for the retention window). One with a payment
 * still PENDING waits for its settlement.
 */
export async function expireEndedSubscriptions(
  options: SweepBatchOptions,
): Promise<SweepStepResult> {
  const { ctx, now } = options;
  return inBatches(options, (limit) =>
    ctx.db.transaction(async (tx) => {
      const due = await tx
        .select({ subscription: subscriptions, service: serviceRef })
        .from(subscriptions)
        .innerJoin(serviceCatalog, eq(serviceCatalog.id, subscriptions.serviceId))
        .where(
          and(
            or(eq(subscriptions.status, "ACTIVE"), eq(subscriptions.status, "PAST_DUE")),
            eq(subscriptions.autoRenew, false),
            isNull(subscriptions.purgedAt),
            lte(subscriptions.currentPeriodEnd, now),
            notExists(pendingPaymentOf(tx, subscriptions.id)),
          ),
        )
        .orderBy(subscriptions.currentPeriodEnd)
        .limit(limit)
        .for("update", { of: subscriptions, skipLocked: true });
      if (due.length === 0) return { examined: 0, changed: 0, eventIds: [] };
      const ids = due.map((row) => row.subscription.id);
      const expired = await tx
        .update(subscriptions)
        .set({ status: "EXPIRED", expiredAt: now, nextRenewalAttemptAt: null })
        .where(inArray(subscriptions.id, ids))
        .returning();
      await tx
        .update(invoices)
        .set({ status: "VOID" })
        .where(and(inArray(invoices.subscriptionId, ids), eq(invoices.status, "OPEN")));
      const instances = await instancesOf(tx, ids);
      const before = new Map(due.map((row) => [row.subscription.id, row]));
      const eventIds = await enqueueEvents(
        tx,
        expired.map((subscription) => ({
          type: "subscription.expired" as const,
          source: ctx.source,
          subject: subscription.id,
          data: subscriptionEventData(subscription, before.get(subscription.id)!.service, {
            previousStatus: before.get(subscription.id)!.subscription.status,
            reason: "period_ended",
            ...instanceRef(instances, subscription.id),
          }),
        })),
      );
      await recordAudits(
        tx,
        expired.map(
          (subscription): AuditEntry => ({
            actor: systemActor,
            action: "subscription.expired",
            resourceType: "subscription",
            resourceId: subscription.id,
            metadata: { reason: "period_ended" },
            at: now,
          }),
        ),
      );
      return { examined: due.length, changed: expired.length, eventIds };
    }),
  );
}

/**
 * Purges EXPIRED subscriptions past the retention window
 * (SUBSCRIPTION_RETENTION_DAYS after expiry): `purgedAt` set, the instance
 * DELETING, `subscription.purged` (the provisioner deletes the workload and
 * its data). A purged subscription can no longer be renewed.
 */
export async function purgeExpiredSubscriptions(
  options: SweepBatchOptions,
): Promise<SweepStepResult> {
  const { ctx, now } = options;
  const cutoff = addDays(now, -ctx.settings.retentionDays);
  return inBatches(options, (limit) =>
    ctx.db.transaction(async (tx) => {
      const due = await tx
        .select({ subscription: subscriptions, service: serviceRef })
        .from(subscriptions)
        .innerJoin(serviceCatalog, eq(serviceCatalog.id, subscriptions.serviceId))
        .where(
          and(
            eq(subscriptions.status, "EXPIRED"),
            isNull(subscriptions.purgedAt),
            lte(subscriptions.expiredAt, cutoff),
            notExists(pendingPaymentOf(tx, subscriptions.id)),
          ),
        )
        .orderBy(subscriptions.expiredAt)
        .limit(limit)
        .for("update", { of: subscriptions, skipLocked: true });
      if (due.length === 0) return { examined: 0, changed: 0, eventIds: [] };
      const ids = due.map((row) => row.subscription.id);
      const purged = await tx
        .update(subscriptions)
        .set({ purgedAt: now })
        .where(inArray(subscriptions.id, ids))
        .returning();
      const deleting = await tx
        .update(serviceInstances)
        .set({ status: "DELETING" })
        .where(
          and(
            inArray(serviceInstances.subscriptionId, ids),
            notInArray(serviceInstances.status, ["DELETING", "DELETED"]),
          ),
        )
        .returning({ id: serviceInstances.id });
      if (deleting.length > 0) {
        await tx.insert(instanceStatusEvents).values(
          deleting.map((instance) => ({
            instanceId: instance.id,
            status: "DELETING" as const,
            message: "Retention window over: the app and its data are being deleted.",
          })),
        );
      }
      const instances = await instancesOf(tx, ids);
      const services = new Map(due.map((row) => [row.subscription.id, row.service]));
      const eventIds = await enqueueEvents(
        tx,
        purged.map((subscription) => ({
          type: "subscription.purged" as const,
          source: ctx.source,
          subject: subscription.id,
          data: subscriptionEventData(subscription, services.get(subscription.id)!, {
            ...instanceRef(instances, subscription.id),
            expiredAt: subscription.expiredAt?.toISOString(),
          }),
        })),
      );
      await recordAudits(
        tx,
        purged.map(
          (subscription): AuditEntry => ({
            actor: systemActor,
            action: "subscription.purged",
            resourceType: "subscription",
            resourceId: subscription.id,
            metadata: { retentionDays: ctx.settings.retentionDays },
            at: now,
          }),
        ),
      );
      return { examined: due.length, changed: purged.length, eventIds };
    }),
  );
}

async function instancesOf(tx: BillingContext["db"], subscriptionIds: string[]) {
  const rows = await tx
    .select({ id: serviceInstances.id, subscriptionId: serviceInstances.subscriptionId })
    .from(serviceInstances)
    .where(inArray(serviceInstances.subscriptionId, subscriptionIds));
  return new Map(rows.map((r) => [r.subscriptionId, r.id]));
}

function instanceRef(instances: Map<string, string>, subscriptionId: string) {
  const instanceId = instances.get(subscriptionId);
  return instanceId ? { instanceId } : {};
}
