import type { ChargeResult } from "@minispod/billing/payments";
import { invoices, payments, serviceCatalog, subscriptions } from "@minispod/db";
import { mapLimit, systemActor } from "@minispod/shared";
import { and, eq, inArray, isNull, lte, notExists, or, sql } from "drizzle-orm";
import { sendCharge } from "./charge";
import type { BillingContext } from "./context";
import { renewalKey } from "./dunning";
import { addMonths } from "./period";
import {
  describePeriod,
  formatInvoiceNumber,
  invoiceSeries,
  isoText,
  lastPaymentMethods,
  pendingPaymentOf,
  rowsOf,
  takeInvoiceNumbers,
} from "./records";
import { settleCharge } from "./settle";
import { cardLeftOnFile } from "./settlement-outcomes";

type Payment = typeof payments.$inferSelect;

export interface RenewalSweepOptions {
  ctx: BillingContext;
  /** "Now" of this run, from the injected clock. */
  now: Date;
  /** ACTIVE auto-renewing subscriptions are charged this many seconds before their period ends. */
  windowSeconds: number;
  /** Subscriptions claimed per transaction. */
  batchSize: number;
  /** Most batches per run: bounds one invocation; the next run continues. */
  maxBatches: number;
  /** Charges in flight at once. */
  concurrency: number;
}

export interface RenewalSweepResult {
  /** Subscriptions claimed as due (rows examined and locked). */
  examined: number;
  /** Charges sent. */
  attempted: number;
  succeeded: number;
  /** Declined: dunning moved the subscription to PAST_DUE or EXPIRED. */
  failed: number;
  /** Outcome unknown (timeout, crash): PENDING for the reconciliation. */
  unknown: number;
  /** True when the last batch was full: more may be due than this run took. */
  more: boolean;
}

/**
 * Renews what is due, in batches: each batch claims due subscriptions in one
 * transaction (`FOR UPDATE SKIP LOCKED`, so concurrent sweeps split the work),
 * writes the next period's invoice (one per period: the UNIQUE index decides)
 * and a PENDING payment with its idempotency key, and commits before any
 * charge is sent. Then the charges go out and each answer is settled exactly
 * once (`settleCharge`); a decline walks the dunning schedule.
 *
 * Due: ACTIVE, auto-renewing and with a card on file, with the period ending
 * within the window, or PAST_DUE with its retry time reached (also only with
 * auto-renew on and a card on file); never one with a payment still
 * PENDING (that one belongs to the reconciliation).
 */
export async function renewDueSubscriptions(
  options: RenewalSweepOptions,
): Promise<RenewalSweepResult> {
  const result: RenewalSweepResult = {
    examined: 0,
    attempted: 0,
    succeeded: 0,
    failed: 0,
    unknown: 0,
    more: false,
  };
  for (let batch = 0; batch < options.maxBatches; batch++) {
    const claim = await claimDueRenewals(options);
    result.examined += claim.examined;
    const succeeded: SucceededCharge[] = [];
    await mapLimit(claim.payments, options.concurrency, async (pending) => {
      result.attempted++;
      const outcome = await sendCharge(
        options.ctx.provider,
        pending.payment,
        pending.description,
        options.ctx.logger,
      );
      if (outcome.status === "unknown") result.unknown++;
      else if (outcome.status === "succeeded") {
        succeeded.push({
          payment: pending.payment,
          providerPaymentId: outcome.providerPaymentId,
          reusable: cardLeftOnFile(outcome),
        });
      } else result[await settleOne(options.ctx, pending.payment, outcome)]++;
    });
    // The common case, settled for the whole batch at once; the rest one by one.
    const bulk = await settleSucceededRenewals(options.ctx, succeeded);
    result.succeeded += bulk.settled;
    result.unknown += bulk.failedToCommit;
    for (const left of bulk.leftOver) {
      result[
        await settleOne(options.ctx, left.payment, {
          status: "succeeded",
          providerPaymentId: left.providerPaymentId,
          reusable: left.reusable,
        })
      ]++;
    }
    result.more = claim.examined === options.batchSize;
    if (!result.more) break;
  }
  return result;
}

/** A renewal charge the provider accepted, waiting to be settled. */
interface SucceededCharge {
  payment: Payment;
  providerPaymentId: string;
  /** The method may be charged again (`subscriptions.card_on_file` after settling). */
  reusable: boolean;
}

interface PendingRenewal {
  payment: Payment;
  description: string;
}

/**
 * One batch: locks due subscriptions (skipping rows another sweep holds), then
 * in set-based statements inserts their invoices and PENDING payments.
 */
export async function claimDueRenewals(
  options: Pick<RenewalSweepOptions, "ctx" | "now" | "windowSeconds" | "batchSize">,
): Promise<{ examined: number; payments: PendingRenewal[] }> {
  const { ctx, now } = options;
  const horizon = new Date(now.getTime() + options.windowSeconds * 1000);
  return ctx.db.transaction(async (tx) => {
    // Two claims, each an index scan in due order that stops at the batch size (one
    // query with an OR would gather and sort every due row per batch): dunning
    // retries first (few, and already past their end), then the period ends.
    const claim = (status: "ACTIVE" | "PAST_DUE", limit: number) =>
      tx
        .select({
          id: subscriptions.id,
          userId: subscriptions.userId,
          periodEnd: subscriptions.currentPeriodEnd,
          renewalAttempts: subscriptions.renewalAttempts,
          serviceName: serviceCatalog.name,
          priceMinor: serviceCatalog.priceMinor,
          currency: serviceCatalog.currency,
        })
        .from(subscriptions)
        .innerJoin(serviceCatalog, eq(serviceCatalog.id, subscriptions.serviceId))
        .where(
          and(
            // Only what can be charged without the customer: the rest is the expiry sweep's.
            eq(subscriptions.autoRenew, true),
            eq(subscriptions.cardOnFile, true),
            isNull(subscriptions.purgedAt),
            status === "ACTIVE"
              ? and(
                  eq(subscriptions.status, "ACTIVE"),
                  lte(subscriptions.currentPeriodEnd, horizon),
                  // Declined inside the window: the retry waits for the period's end.
                  or(
                    isNull(subscriptions.nextRenewalAttemptAt),
                    lte(subscriptions.nextRenewalAttemptAt, now),
                  ),
                )
              : and(
                  eq(subscriptions.status, "PAST_DUE"),
                  lte(subscriptions.nextRenewalAttemptAt, now),
                ),
            notExists(pendingPaymentOf(tx, subscriptions.id)),
          ),
        )
        .orderBy(
          status === "ACTIVE" ? subscriptions.currentPeriodEnd : subscriptions.nextRenewalAttemptAt,
        )
        .limit(limit)
        .for("update", { of: subscriptions, skipLocked: true });
    const retries = await claim("PAST_DUE", options.batchSize);
    const due =
      retries.length < options.batchSize
        ? [...retries, ...(await claim("ACTIVE", options.batchSize - retries.length))]
        : retries;
    if (due.length === 0) return { examined: 0, payments: [] };

    // One invoice per subscription and period. An earlier run's row is reused below; no
    // other can appear meanwhile, as every writer of a period's invoice holds its
    // subscription's lock. Only the missing ones take numbers, so none is skipped.
    const billed = new Set(
      (
        await tx
          .select({ subscriptionId: invoices.subscriptionId, periodStart: invoices.periodStart })
          .from(invoices)
          .where(
            inArray(
              invoices.subscriptionId,
              due.map((s) => s.id),
            ),
          )
      ).map((i) => `${i.subscriptionId}/${i.periodStart.getTime()}`),
    );
    const toBill = due.filter((s) => !billed.has(`${s.id}/${s.periodEnd.getTime()}`));
    if (toBill.length > 0) {
      const series = invoiceSeries(now);
      const first = await takeInvoiceNumbers(tx, series, toBill.length);
      await tx.insert(invoices).values(
        toBill.map((s, i) => {
          const periodEnd = addMonths(s.periodEnd, 1);
          return {
            subscriptionId: s.id,
            userId: s.userId,
            periodStart: s.periodEnd,
            periodEnd,
            amountMinor: s.priceMinor,
            currency: s.currency,
            description: describePeriod(s.serviceName, s.periodEnd, periodEnd),
            number: formatInvoiceNumber(series, first + i),
            status: "OPEN" as const,
          };
        }),
      );
    }
    const bySubscription = new Map(due.map((s) => [s.id, s]));
    const periodInvoices = (
      await tx
        .select()
        .from(invoices)
        .where(
          inArray(
            invoices.subscriptionId,
            due.map((s) => s.id),
          ),
        )
        .for("update")
    ).filter(
      (i) => i.periodStart.getTime() === bySubscription.get(i.subscriptionId)?.periodEnd.getTime(),
    );
    // A period an earlier attempt left VOID is billed again on its own invoice; a PAID one
    // cannot be due (paying moves the period), so it is only logged.
    const voided = periodInvoices.filter((i) => i.status === "VOID").map((i) => i.id);
    if (voided.length > 0) {
      await tx.update(invoices).set({ status: "OPEN" }).where(inArray(invoices.id, voided));
    }
    const open = periodInvoices.filter((i) => i.status !== "PAID");
    if (open.length < periodInvoices.length) {
      ctx.logger.error(
        { invoices: periodInvoices.filter((i) => i.status === "PAID").map((i) => i.id) },
        "a due subscription's next period is already paid; skipped",
      );
    }
    if (open.length === 0) return { examined: due.length, payments: [] };
    const methods = await lastPaymentMethods(
      tx,
      open.map((i) => i.subscriptionId),
    );
    const inserted = await tx
      .insert(payments)
      .values(
        open.map((invoice) => ({
          invoiceId: invoice.id,
          userId: invoice.userId,
          amountMinor: invoice.amountMinor,
          currency: invoice.currency,
          status: "PENDING" as const,
          provider: ctx.provider.name,
          idempotencyKey: renewalKey(
            invoice.id,
            attemptOf(bySubscription.get(invoice.subscriptionId), now),
          ),
          paymentMethod: methods.get(invoice.subscriptionId) ?? null,
          // The injected clock, so the reconciliation's age cutoff compares like with like.
          createdAt: now,
        })),
      )
      // The key is one per invoice and attempt: a racing sweep's row wins, never a second charge.
      .onConflictDoNothing({ target: payments.idempotencyKey })
      .returning();
    const descriptions = new Map(open.map((i) => [i.id, i.description]));
    return {
      examined: due.length,
      payments: inserted.map((payment) => ({
        payment,
        description: descriptions.get(payment.invoiceId) ?? "Renewal",
      })),
    };
  });
}

/**
 * The dunning attempt a claim charges: 0 for the one charge sent inside the
 * renewal window before the period ends (a decline there is not a dunning
 * step, see `applyDunning`), then 1, 2, ... from the period's end on. Each
 * number is its own provider key, so no attempt is ever charged twice.
 */
function attemptOf(
  subscription: { periodEnd: Date; renewalAttempts: number } | undefined,
  now: Date,
): number {
  if (!subscription) return 1;
  return now < subscription.periodEnd ? 0 : subscription.renewalAttempts + 1;
}

/** Settles one known answer; a failed commit leaves the payment PENDING for the reconciliation. */
async function settleOne(
  ctx: BillingContext,
  payment: Payment,
  outcome: ChargeResult,
): Promise<"succeeded" | "failed" | "unknown"> {
  try {
    const settled = await settleCharge({
      ctx,
      input: { paymentId: payment.id, result: outcome, actor: systemActor },
    });
    return settled.paymentStatus === "SUCCEEDED"
      ? "succeeded"
      : settled.paymentStatus === "FAILED"
        ? "failed"
        : "unknown";
  } catch (error) {
    // The provider answered but the commit failed: the payment stays PENDING and the
    // reconciliation settles it from the provider's record, never by charging again.
    ctx.logger.error(
      { err: error, paymentId: payment.id },
      "settling a renewal charge failed; left PENDING for the reconciliation",
    );
    return "unknown";
  }
}

/**
 * Settles a batch of successful renewal charges in one transaction, with the
 * effect of `settleCharge` on each (payment SUCCEEDED, invoice PAID, the
 * subscription ACTIVE in the invoice's period, `subscription.renewed`,
 * `invoice.paid`, `payment.succeeded`, an audit row), in a few set-based
 * statements instead of a dozen per payment.
 *
 * Row locks follow the global order, level by level: the subscriptions (by
 * id), then their invoices, then the payments. Only payments still PENDING on
 * ACTIVE or PAST_DUE subscriptions are settled here; anything else (a callback
 * or a cancel got there first) is handed back for `settleCharge`, which knows
 * every case. If the transaction fails, every payment stays PENDING for the
 * reconciliation.
 */
async function settleSucceededRenewals(
  ctx: BillingContext,
  charges: SucceededCharge[],
): Promise<{
  settled: number;
  failedToCommit: number;
  leftOver: SucceededCharge[];
}> {
  if (charges.length === 0) return { settled: 0, failedToCommit: 0, leftOver: [] };
  const now = ctx.now();
  const at = sql`${now.toISOString()}::timestamptz`;
  const iso = isoText;
  // A uuid[] literal of our own ids: the lookups below go by primary key (index scans),
  // whatever the planner thinks of a recordset's size.
  const paymentIds = sql`${`{${charges.map((c) => c.payment.id).join(",")}}`}::uuid[]`;
  try {
    const { settled, eventIds } = await ctx.db.transaction(async (tx) => {
      await tx.execute(sql`
        select s.id from subscriptions s
        where s.id = any(array(select i.subscription_id from payments p
                               join invoices i on i.id = p.invoice_id where p.id = any(${paymentIds})))
        order by s.id for update of s`);
      await tx.execute(sql`
        select i.id from invoices i
        where i.id = any(array(select p.invoice_id from payments p where p.id = any(${paymentIds})))
        order by i.id for update of i`);
      const eligible = rowsOf<{ payment_id: string }>(
        await tx.execute(sql`
          select p.id as payment_id from payments p
          join invoices i on i.id = p.invoice_id
          join subscriptions s on s.id = i.subscription_id
          where p.id = any(${paymentIds})
            and p.status = 'PENDING' and i.status = 'OPEN' and s.status in ('ACTIVE', 'PAST_DUE')
          order by p.id for update of p`),
      ).map((row) => row.payment_id);
      const eligibleIds = new Set(eligible);
      if (eligible.length === 0) return { settled: new Set<string>(), eventIds: [] };
      const chosen = JSON.stringify(
        charges
          .filter((c) => eligibleIds.has(c.payment.id))
          .map((c) => ({
            payment_id: c.payment.id,
            provider_payment_id: c.providerPaymentId,
            reusable: c.reusable,
          })),
      );
      const [row] = rowsOf<{ event_ids: string[] }>(
        await tx.execute(sql`
          with input as (
            select r.payment_id, r.provider_payment_id, r.reusable, p.user_id, p.amount_minor, p.currency,
                   i.id as invoice_id, i.number, i.period_start, i.period_end,
                   s.id as subscription_id, s.status as previous_status, s.auto_renew,
                   c.id as service_id, c.slug, c.name
            from jsonb_to_recordset(${chosen}::jsonb)
                 as r(payment_id uuid, provider_payment_id text, reusable boolean)
            join payments p on p.id = r.payment_id
            join invoices i on i.id = p.invoice_id
            join subscriptions s on s.id = i.subscription_id
            join service_catalog c on c.id = s.service_id
          ),
          paid_payments as (
            update payments p set status = 'SUCCEEDED', provider_payment_id = input.provider_payment_id,
                   failure_code = null, failure_message = null, updated_at = ${at}
            from input where p.id = any(array(select payment_id from input)) and p.id = input.payment_id
            returning p.id
          ),
          paid_invoices as (
            update invoices i set status = 'PAID', paid_at = ${at}, updated_at = ${at}
            from input where i.id = any(array(select invoice_id from input)) and i.id = input.invoice_id
            returning i.id
          ),
          renewed as (
            update subscriptions s set status = 'ACTIVE', current_period_start = input.period_start,
                   current_period_end = input.period_end, renewal_attempts = 0,
                   next_renewal_attempt_at = null, grace_ends_at = null, expired_at = null,
                   card_on_file = input.reusable, updated_at = ${at}
            from input
            where s.id = any(array(select subscription_id from input)) and s.id = input.subscription_id
            returning s.id
          ),
          events as (
            -- to_jsonb of rows: about twice as fast as jsonb_build_object with many keys.
            insert into outbox_events (type, source, subject, data)
            select 'dev.minispod.subscription.renewed', ${ctx.source}, d."subscriptionId"::text, to_jsonb(d)
            from (select input.user_id as "userId", input.subscription_id as "subscriptionId",
                    input.service_id as "serviceId", input.slug as "serviceSlug",
                    input.name as "serviceName", 'ACTIVE' as status,
                    ${iso("input.period_start")} as "currentPeriodStart",
                    ${iso("input.period_end")} as "currentPeriodEnd", input.auto_renew as "autoRenew",
                    input.previous_status as "previousStatus" from input) d
            union all
            select 'dev.minispod.invoice.paid', ${ctx.source}, d."invoiceId"::text, to_jsonb(d)
            from (select input.user_id as "userId", input.invoice_id as "invoiceId", input.number,
                    input.subscription_id as "subscriptionId", input.amount_minor as "amountMinor",
                    input.currency, ${iso("input.period_start")} as "periodStart",
                    ${iso("input.period_end")} as "periodEnd" from input) d
            union all
            select 'dev.minispod.payment.succeeded', ${ctx.source}, d."paymentId"::text, to_jsonb(d)
            from (select input.user_id as "userId", input.payment_id as "paymentId",
                    input.invoice_id as "invoiceId", input.subscription_id as "subscriptionId",
                    input.amount_minor as "amountMinor", input.currency,
                    null::text as "failureCode", null::text as "failureMessage" from input) d
            returning id
          ),
          audits as (
            insert into audit_log (actor_id, actor_role, owner_id, action, resource_type, resource_id, metadata, created_at)
            select null, 'SYSTEM', input.user_id, 'subscription.renewed', 'subscription', input.subscription_id::text,
                   jsonb_build_object('invoiceId', input.invoice_id, 'paymentId', input.payment_id,
                                      'providerPaymentId', input.provider_payment_id), ${at}
            from input returning id
          )
          select (select count(*) from paid_payments) + (select count(*) from paid_invoices)
                   + (select count(*) from renewed) + (select count(*) from audits) as writes,
                 coalesce((select array_agg(id::text) from events), '{}') as event_ids`),
      );
      return { settled: eligibleIds, eventIds: row?.event_ids ?? [] };
    });
    if (eventIds.length > 0) ctx.events.kick(eventIds);
    return {
      settled: settled.size,
      failedToCommit: 0,
      leftOver: charges.filter((c) => !settled.has(c.payment.id)),
    };
  } catch (error) {
    ctx.logger.error(
      { err: error, payments: charges.length },
      "settling a batch of renewal charges failed; left PENDING for the reconciliation",
    );
    return { settled: 0, failedToCommit: charges.length, leftOver: [] };
  }
}
