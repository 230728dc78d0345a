import { type Db, invoices, payments, serviceCatalog, subscriptions } from "@minispod/db";
import { systemActor } from "@minispod/shared";
import { and, desc, eq, inArray, isNull, lte, notExists, or } from "drizzle-orm";
import { sendCharge } from "./charge";
import type { BillingContext } from "./context";
import { renewalKey } from "./dunning";
import { addMonths } from "./period";
import { describePeriod, invoiceNumber, pendingPaymentOf } from "./records";
import { settleCharge } from "./settle";

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
 * Due: ACTIVE and auto-renewing with the period ending within the window, or
 * PAST_DUE with its retry time reached; never one with a payment still
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
    await mapLimit(claim.payments, options.concurrency, async (pending) => {
      result.attempted++;
      const outcome = await chargeAndSettleRenewal(options.ctx, pending);
      result[outcome]++;
    });
    result.more = claim.examined === options.batchSize;
    if (!result.more) break;
  }
  return result;
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
    const due = await tx
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
          eq(subscriptions.autoRenew, true),
          isNull(subscriptions.purgedAt),
          or(
            and(eq(subscriptions.status, "ACTIVE"), lte(subscriptions.currentPeriodEnd, horizon)),
            and(eq(subscriptions.status, "PAST_DUE"), lte(subscriptions.nextRenewalAttemptAt, now)),
          ),
          notExists(pendingPaymentOf(tx, subscriptions.id)),
        ),
      )
      .orderBy(subscriptions.currentPeriodEnd)
      .limit(options.batchSize)
      .for("update", { of: subscriptions, skipLocked: true });
    if (due.length === 0) return { examined: 0, payments: [] };

    // One invoice per subscription and period: a concurrent or earlier run's row wins.
    await tx
      .insert(invoices)
      .values(
        due.map((s) => {
          const periodEnd = addMonths(s.periodEnd, 1);
          return {
            subscriptionId: s.id,
            userId: s.userId,
            periodStart: s.periodEnd,
            periodEnd,
            amountMinor: s.priceMinor,
            currency: s.currency,
            description: describePeriod(s.serviceName, s.periodEnd, periodEnd),
            number: invoiceNumber(now),
            status: "OPEN" as const,
          };
        }),
      )
      .onConflictDoNothing({ target: [invoices.subscriptionId, invoices.periodStart] });
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
            (bySubscription.get(invoice.subscriptionId)?.renewalAttempts ?? 0) + 1,
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

/** Each subscription's payment method of its last successful payment. */
async function lastPaymentMethods(tx: Db, subscriptionIds: string[]) {
  const rows = await tx
    .selectDistinctOn([invoices.subscriptionId], {
      subscriptionId: invoices.subscriptionId,
      method: payments.paymentMethod,
    })
    .from(payments)
    .innerJoin(invoices, eq(invoices.id, payments.invoiceId))
    .where(and(inArray(invoices.subscriptionId, subscriptionIds), eq(payments.status, "SUCCEEDED")))
    .orderBy(invoices.subscriptionId, desc(payments.createdAt));
  return new Map(rows.map((r) => [r.subscriptionId, r.method]));
}

/** Sends one claimed charge and settles its answer; an unknown one stays PENDING. */
async function chargeAndSettleRenewal(
  ctx: BillingContext,
  { payment, description }: PendingRenewal,
): Promise<"succeeded" | "failed" | "unknown"> {
  const outcome = await sendCharge(ctx.provider, payment, description, ctx.logger);
  if (outcome.status === "unknown") return "unknown";
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

/** Runs `work` over `items` with at most `limit` at once. */
async function mapLimit<T>(items: T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  });
  await Promise.all(lanes);
}
