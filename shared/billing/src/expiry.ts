import {
  type Db,
  instanceStatusEvents,
  serviceCatalog,
  serviceInstances,
  subscriptions,
} from "@minispod/db";
import {
  type AuditEntry,
  enqueueEvents,
  mapLimit,
  recordAudits,
  systemActor,
} from "@minispod/shared";
import { and, eq, inArray, isNull, lte, notExists, notInArray, sql } from "drizzle-orm";
import type { BillingContext } from "./context";
import { subscriptionEventData } from "./events";
import { addDays } from "./period";
import { isoText, pendingPaymentOf, rowsOf } from "./records";

type SweepContext = Pick<BillingContext, "db" | "logger" | "source" | "settings">;

export interface SweepBatchOptions {
  ctx: SweepContext;
  /** "Now" of this run, from the injected clock. */
  now: Date;
  /** Rows claimed per transaction. */
  batchSize: number;
  /** Most batches per run: bounds one invocation; the next run continues. */
  maxBatches: number;
  /**
   * Batches in flight at once, each a transaction on its own pooled
   * connection (default 1). Their SKIP LOCKED claims take disjoint rows, as
   * overlapping runs' do; PostgreSQL runs each on its own core.
   */
  concurrency?: number;
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

/**
 * The subscriptions whose period ends without a charge: auto-renew off, or no
 * card on file (the last successful charge left no reusable method). The
 * reminders and the expiry both select these, over `s`; the partial index
 * `subscriptions_expiry_due_idx` carries the same condition, and the billing
 * sweep takes exactly the others (auto-renew on and a card on file).
 */
const endsWithoutRenewal = sql.raw("(not s.auto_renew or not s.card_on_file)");

const serviceRef = { id: serviceCatalog.id, slug: serviceCatalog.slug, name: serviceCatalog.name };

/**
 * Runs `batch` until one claims less than a full batch or `maxBatches` ran,
 * with up to `concurrency` batches in flight. Each batch is one transaction
 * that locks its rows with SKIP LOCKED, so these batches, like concurrent
 * sweeps, split the work instead of waiting on each other. A short batch means
 * every due row left is claimed by a batch in flight: no new one starts. A
 * failed batch stops new ones too; the error is thrown once those in flight
 * have ended (committed batches stay committed; their events wait in the
 * outbox for the relay).
 */
async function inBatches(
  options: SweepBatchOptions,
  batch: (limit: number) => Promise<{ examined: number; changed: number; eventIds: string[] }>,
): Promise<SweepStepResult> {
  const total: SweepStepResult = { examined: 0, changed: 0, eventIds: [], more: false };
  let drained = false;
  // One slot per batch the run may take; a slot taken after a short batch does nothing.
  const slots = Array.from({ length: options.maxBatches }, (_, i) => i);
  await mapLimit(slots, options.concurrency ?? 1, async () => {
    if (drained) return;
    const one = await batch(options.batchSize);
    total.examined += one.examined;
    total.changed += one.changed;
    total.eventIds.push(...one.eventIds);
    if (one.examined < options.batchSize) drained = true;
  });
  total.more = !drained;
  return total;
}

/**
 * Reminds customers whose period ends without a renewal (auto-renew off, or
 * no card on file: `reason` "not_renewing" or "no_card" in the event):
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
  const at = sql`${now.toISOString()}::timestamptz`;
  const horizon = sql`${addDays(now, days.at(-1)!).toISOString()}::timestamptz`;
  // The days are validated integers, so they are inlined as an array literal.
  const thresholds = sql.raw(`array[${days.map(Number).join(",")}]::int[]`);
  // One statement per batch, like the expiry: lock, record, write the events.
  return inBatches(options, async (limit) => {
    const result = await ctx.db.execute(sql`
      with due as (
        select s.id, s.user_id, s.service_id, s.status, s.current_period_start,
               s.current_period_end, s.auto_renew, t.days_left,
               case when s.auto_renew then 'no_card' else 'not_renewing' end as reason
        from subscriptions s
        -- The nearest threshold reached: the smallest d with end <= now + d days.
        cross join lateral (
          select min(d) as days_left from unnest(${thresholds}) as d
          where s.current_period_end <= ${at} + d * interval '1 day') t
        where s.status = 'ACTIVE' and ${endsWithoutRenewal} and s.purged_at is null
          and s.current_period_end > ${at} and s.current_period_end <= ${horizon}
          and not exists (
            select 1 from subscription_reminders r
            where r.subscription_id = s.id and r.period_end = s.current_period_end
              and r.days_before <= t.days_left)
        order by s.current_period_end
        limit ${limit}
        for update of s skip locked
      ),
      recorded as (
        insert into subscription_reminders (subscription_id, period_end, days_before, sent_at)
        select id, current_period_end, days_left, ${at} from due
        on conflict do nothing
        returning subscription_id
      ),
      events as (
        insert into outbox_events (type, source, subject, data)
        select 'dev.minispod.subscription.expiring_soon', ${ctx.source}, d."subscriptionId"::text, to_jsonb(d)
        from (
          select due.user_id as "userId", due.id as "subscriptionId", c.id as "serviceId",
            c.slug as "serviceSlug", c.name as "serviceName", due.status,
            ${isoText("due.current_period_start")} as "currentPeriodStart",
            ${isoText("due.current_period_end")} as "currentPeriodEnd",
            due.auto_renew as "autoRenew", due.days_left as "daysLeft", due.reason
          from due
          join recorded on recorded.subscription_id = due.id
          join service_catalog c on c.id = due.service_id
        ) d
        returning id
      )
      select (select count(*) from due)::int as examined,
             (select count(*) from recorded)::int as changed,
             coalesce((select array_agg(id::text) from events), '{}') as event_ids`);
    return batchCounts(result);
  });
}

/**
 * Expires subscriptions whose period ended without a renewal (auto-renew off
 * or no card on file; an auto-renewing one with a card is the billing sweep's,
 * through dunning): EXPIRED,
 * open invoices VOID, `subscription.expired` (the provisioner suspends the
 * instance, keeping its data for the retention window) and an audit row. One
 * with a payment still PENDING waits for its settlement.
 *
 * The hot sweep (every subscription passes through it once per lifetime), so
 * each batch is one statement: data-modifying CTEs lock, update, void, and
 * write the outbox and audit rows inside PostgreSQL, in one round trip. The
 * event's `data` is built by `to_jsonb` of a row in the shape of
 * `subscriptionEventData` (tests parse it against the event catalogue).
 */
export async function expireEndedSubscriptions(
  options: SweepBatchOptions,
): Promise<SweepStepResult> {
  const { ctx, now } = options;
  const at = sql`${now.toISOString()}::timestamptz`;
  const iso = isoText;
  return inBatches(options, async (limit) => {
    const result = await ctx.db.execute(sql`
      with due as (
        select s.id, s.ctid as tid, s.status as previous_status
        from subscriptions s
        where s.status in ('ACTIVE', 'PAST_DUE') and ${endsWithoutRenewal} and s.purged_at is null
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
        -- Found by tuple id (a TID scan): the claim holds the rows' locks, so
        -- their ctid cannot move before this update. A plain join on the CTE
        -- makes the planner hash the whole table, and "id = any(...)" costs
        -- a primary-key descent per row (a tenth of the batch's time).
        from due where s.ctid = any(array(select tid from due)) and s.id = due.id
        returning s.id, s.user_id, s.service_id, s.status, s.current_period_start,
          s.current_period_end, s.auto_renew, due.previous_status
      ),
      voided as (
        update invoices i set status = 'VOID', updated_at = ${at}
        from expired e where i.subscription_id = e.id and i.status = 'OPEN'
        returning i.id
      ),
      events as (
        -- to_jsonb of a row is about twice as fast as an 11-key jsonb_build_object.
        insert into outbox_events (type, source, subject, data)
        select 'dev.minispod.subscription.expired', ${ctx.source}, d."subscriptionId"::text,
          case when d."instanceId" is null then to_jsonb(d) - 'instanceId' else to_jsonb(d) end
        from (
          select e.user_id as "userId", e.id as "subscriptionId", c.id as "serviceId",
            c.slug as "serviceSlug", c.name as "serviceName", e.status,
            ${iso("e.current_period_start")} as "currentPeriodStart",
            ${iso("e.current_period_end")} as "currentPeriodEnd",
            e.auto_renew as "autoRenew", e.previous_status as "previousStatus",
            'period_ended' as reason, si.id as "instanceId",
            -- The purge date the expiry email announces (SUBSCRIPTION_RETENTION_DAYS after now).
            to_char((${at} + make_interval(days => ${ctx.settings.retentionDays}::int)) at time zone 'UTC',
              'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "dataKeptUntil"
          from expired e
          join service_catalog c on c.id = e.service_id
          left join service_instances si on si.subscription_id = e.id
        ) d
        returning id
      ),
      audits as (
        insert into audit_log (actor_id, actor_role, owner_id, action, resource_type, resource_id, metadata, created_at)
        select null, 'SYSTEM', e.user_id, 'subscription.expired', 'subscription', e.id::text,
          '{"reason":"period_ended"}'::jsonb, ${at}
        from expired e
        returning id
      )
      select (select count(*) from due)::int as examined,
             (select count(*) from expired)::int as changed,
             (select count(*) from voided)::int as voided,
             (select count(*) from audits)::int as audited,
             coalesce((select array_agg(id::text) from events), '{}') as event_ids`);
    return batchCounts(result);
  });
}

/** The counts a one-statement batch selects: examined, changed, event_ids. */
function batchCounts(result: unknown) {
  const [row] = rowsOf<{ examined: number; changed: number; event_ids: string[] }>(result);
  return {
    examined: Number(row?.examined ?? 0),
    changed: Number(row?.changed ?? 0),
    eventIds: row?.event_ids ?? [],
  };
}

/**
 * The purge's claim: EXPIRED subscriptions not yet purged whose expiry is at or
 * before `cutoff` and with no payment PENDING, oldest expiry first, locked
 * with SKIP LOCKED. Read through `subscriptions_purge_due_idx` (partial on
 * exactly that state), so a batch costs its own rows, not every subscription
 * that ever ended.
 */
export function purgeDueClaim(tx: Db, cutoff: Date, limit: number) {
  return tx
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
      const due = await purgeDueClaim(tx, cutoff, limit);
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
            ownerId: subscription.userId,
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
