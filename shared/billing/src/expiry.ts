import {
  instanceStatusEvents,
  serviceCatalog,
  serviceInstances,
  subscriptionReminders,
  subscriptions,
} from "@minispod/db";
import { type AuditEntry, enqueueEvents, recordAudits, systemActor } from "@minispod/shared";
import { and, eq, gt, inArray, isNull, lte, notExists, notInArray, sql } from "drizzle-orm";
import type { BillingContext } from "./context";
import { subscriptionEventData } from "./events";
import { addDays } from "./period";
import { pendingPaymentOf, rowsOf } from "./records";

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
 * instance, keeping its data for the retention window) and an audit row. One
 * with a payment still PENDING waits for its settlement.
 *
 * The hot sweep (every subscription passes through it once per lifetime), so
 * each batch is one statement: data-modifying CTEs lock, update, void, and
 * write the outbox and audit rows inside PostgreSQL, in one round trip. The
 * event's `data` is built by `jsonb_build_object` in the shape of
 * `subscriptionEventData` (tests parse it against the event catalogue).
 */
export async function expireEndedSubscriptions(
  options: SweepBatchOptions,
): Promise<SweepStepResult> {
  const { ctx, now } = options;
  const at = sql`${now.toISOString()}::timestamptz`;
  const iso = (column: string) =>
    sql.raw(`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);
  return inBatches(options, async (limit) => {
    const result = await ctx.db.execute(sql`
      with due as (
        select s.id, s.status as previous_status
        from subscriptions s
        where s.status in ('ACTIVE', 'PAST_DUE') and not s.auto_renew and s.purged_at is null
          and s.current_period_end <= ${at}
          and not exists (
            select 1 from payments p join invoices i on i.id = p.invoice_id
            where i.subscription_id = s.id and p.status = 'PENDING')
        order by s.current_period_end
        limit ${limit}
        for update of s skip locked
      ),
      expired as (
        update subscriptions s
        set status = 'EXPIRED', expired_at = ${at}, next_renewal_attempt_at = null, updated_at = ${at}
        from due where s.id = due.id
        returning s.*, due.previous_status
      ),
      voided as (
        update invoices i set status = 'VOID', updated_at = ${at}
        from expired e where i.subscription_id = e.id and i.status = 'OPEN'
        returning i.id
      ),
      events as (
        insert into outbox_events (type, source, subject, data)
        select 'dev.minispod.subscription.expired', ${ctx.source}, e.id::text,
          jsonb_build_object(
            'userId', e.user_id, 'subscriptionId', e.id, 'serviceId', c.id,
            'serviceSlug', c.slug, 'serviceName', c.name, 'status', e.status,
            'currentPeriodStart', ${iso("e.current_period_start")},
            'currentPeriodEnd', ${iso("e.current_period_end")},
            'autoRenew', e.auto_renew, 'previousStatus', e.previous_status, 'reason', 'period_ended'
          ) || case when si.id is null then '{}'::jsonb else jsonb_build_object('instanceId', si.id) end
        from expired e
        join service_catalog c on c.id = e.service_id
        left join service_instances si on si.subscription_id = e.id
        returning id
      ),
      audits as (
        insert into audit_log (actor_id, actor_role, action, resource_type, resource_id, metadata, created_at)
        select null, 'SYSTEM', 'subscription.expired', 'subscription', e.id::text,
          '{"reason":"period_ended"}'::jsonb, ${at}
        from expired e
        returning id
      )
      select (select count(*) from due)::int as examined,
             (select count(*) from expired)::int as changed,
             (select count(*) from voided)::int as voided,
             (select count(*) from audits)::int as audited,
             coalesce((select array_agg(id::text) from events), '{}') as event_ids`);
    const [row] = rowsOf<{ examined: number; changed: number; event_ids: string[] }>(result);
    return {
      examined: Number(row?.examined ?? 0),
      changed: Number(row?.changed ?? 0),
      eventIds: row?.event_ids ?? [],
    };
  });
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
