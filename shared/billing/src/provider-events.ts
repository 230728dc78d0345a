import type { ChargeResult } from "@minispod/billing/payments";
import { type Db, paymentProviderEvents, payments } from "@minispod/db";
import { systemActor } from "@minispod/shared";
import { and, eq } from "drizzle-orm";
import * as v from "valibot";
import type { BillingContext } from "./context";
import { countSettled, type SettleResult, settleChargeInTransaction } from "./settle";

/** A provider callback, after its signature was verified. */
export const providerEventSchema = v.looseObject({
  id: v.pipe(
    v.string("must be a string"),
    v.nonEmpty("is required"),
    v.maxLength(200, "is too long"),
  ),
  type: v.pipe(
    v.string("must be a string"),
    v.nonEmpty("is required"),
    v.maxLength(100, "is too long"),
  ),
  data: v.looseObject({
    idempotencyKey: v.optional(v.pipe(v.string(), v.maxLength(200))),
    providerPaymentId: v.optional(v.pipe(v.string(), v.maxLength(200))),
    /** What the provider charged; when given, it must equal the payment's, or nothing is settled. */
    amountMinor: v.optional(v.pipe(v.number(), v.safeInteger())),
    currency: v.optional(v.pipe(v.string(), v.length(3))),
    failureCode: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(100, "is too long")))),
    failureMessage: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(1000, "is too long")))),
    /** `charge.succeeded`: false when the provider kept no method to charge again (no card on file). */
    reusable: v.optional(v.boolean()),
  }),
});
export type ProviderEvent = v.InferOutput<typeof providerEventSchema>;

/**
 * processed: it changed a payment. duplicate: this event id was handled before.
 * recorded: stored, but nothing to change (already settled, a refund, an unknown type).
 * unmatched: stored, but no payment of ours carries its key or id.
 * mismatch: stored, but its amount or currency differs from the payment's: nothing
 * settled, logged as an error for a human.
 */
export type ProviderEventOutcome =
  | "processed"
  | "duplicate"
  | "recorded"
  | "unmatched"
  | "mismatch";

/**
 * Applies a provider callback once: the event row (unique per provider and
 * event id) is inserted in the same transaction as its effect, so a replay
 * finds it and changes nothing, and a failed effect leaves no row behind.
 * `charge.succeeded` / `charge.failed` settle a PENDING payment like the
 * request that charged would have (activating a first-charge subscription).
 */
export async function handleProviderEvent({
  ctx,
  input,
}: {
  ctx: BillingContext;
  input: { event: ProviderEvent };
}): Promise<ProviderEventOutcome> {
  const { event } = input;
  const eventIds: string[] = [];
  let settled: SettleResult | undefined;
  // Row locks, in order: the event row (a duplicate delivery waits here, on the unique
  // index), then settleChargeInTransaction's subscription -> invoice -> payment, the
  // order renew and cancel use too (subscriptions README, "Row locks"). findPayment is
  // a plain read: the payment is locked last, never first.
  const outcome = await ctx.db.transaction(async (tx): Promise<ProviderEventOutcome> => {
    const [fresh] = await tx
      .insert(paymentProviderEvents)
      .values({
        provider: ctx.provider.name,
        providerEventId: event.id,
        type: event.type,
        payload: event,
      })
      .onConflictDoNothing()
      .returning({ id: paymentProviderEvents.id });
    if (!fresh) return "duplicate";

    const payment = await findPayment(tx, ctx.provider.name, event.data);
    if (!payment) {
      ctx.logger.warn(
        { providerEventId: event.id, type: event.type },
        "provider event matches no payment",
      );
      return "unmatched";
    }
    const result = chargeResultOf(event, payment.providerPaymentId);
    if (!result) {
      ctx.logger.info(
        { providerEventId: event.id, type: event.type, paymentId: payment.id },
        "provider event recorded",
      );
      return "recorded";
    }
    // A refund may be partial; a charge must be for exactly what we asked.
    if (!sameMoney(event.data, payment)) {
      // Never mark a payment paid for another sum than we asked for: a human must look.
      ctx.logger.error(
        {
          providerEventId: event.id,
          type: event.type,
          paymentId: payment.id,
          expected: { amountMinor: payment.amountMinor, currency: payment.currency },
          reported: { amountMinor: event.data.amountMinor, currency: event.data.currency },
        },
        "provider event amount or currency differs from the payment's; not settled",
      );
      return "mismatch";
    }
    const applied = await settleChargeInTransaction(tx, ctx, {
      paymentId: payment.id,
      result,
      actor: systemActor,
    });
    settled = applied;
    eventIds.push(...applied.eventIds);
    if (!applied.applied && applied.paymentStatus !== expectedStatus(result)) {
      // The provider and we disagree about a settled payment: a human must look.
      ctx.logger.error(
        {
          providerEventId: event.id,
          type: event.type,
          paymentId: payment.id,
          paymentStatus: applied.paymentStatus,
        },
        "provider event contradicts the payment's settled status",
      );
    }
    return applied.applied ? "processed" : "recorded";
  });
  if (settled) countSettled(ctx, settled);
  if (eventIds.length > 0) ctx.events.kick(eventIds);
  return outcome;
}

async function findPayment(tx: Db, provider: string, data: ProviderEvent["data"]) {
  const where = data.idempotencyKey
    ? eq(payments.idempotencyKey, data.idempotencyKey)
    : data.providerPaymentId
      ? and(eq(payments.provider, provider), eq(payments.providerPaymentId, data.providerPaymentId))
      : undefined;
  if (!where) return undefined;
  const [payment] = await tx.select().from(payments).where(where);
  return payment;
}

/** True unless the event names an amount or currency other than the payment's. */
function sameMoney(
  data: ProviderEvent["data"],
  payment: { amountMinor: number; currency: string },
): boolean {
  if (data.amountMinor !== undefined && data.amountMinor !== payment.amountMinor) return false;
  if (data.currency !== undefined && data.currency.toUpperCase() !== payment.currency) return false;
  return true;
}

function chargeResultOf(event: ProviderEvent, knownProviderId: string | null): ChargeResult | null {
  const providerPaymentId = event.data.providerPaymentId ?? knownProviderId ?? undefined;
  if (event.type === "charge.succeeded") {
    if (!providerPaymentId) return null;
    return event.data.reusable === false
      ? { status: "succeeded", providerPaymentId, reusable: false }
      : { status: "succeeded", providerPaymentId };
  }
  if (event.type === "charge.failed") {
    return {
      status: "declined",
      providerPaymentId,
      code: event.data.failureCode ?? "declined",
      message: event.data.failureMessage ?? "The payment provider reported the charge as failed.",
    };
  }
  // charge.refunded and anything newer: kept for the record; payments have no refund state yet.
  return null;
}

function expectedStatus(result: ChargeResult) {
  return result.status === "succeeded" ? "SUCCEEDED" : "FAILED";
}
