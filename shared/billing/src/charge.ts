import {
  type ChargeResult,
  type PaymentProvider,
  PaymentProviderError,
} from "@minispod/billing/payments";
import type { payments } from "@minispod/db";
import { AppError, type Logger } from "@minispod/shared";

type Payment = typeof payments.$inferSelect;

/** A charge's answer, or the admission that we do not know whether money moved. */
export type ChargeOutcome =
  | ChargeResult
  | { status: "unknown"; retryable: boolean; reason: string };

/**
 * Sends the charge for a committed PENDING payment. Anything the provider
 * throws means the outcome is unknown: the payment stays PENDING for the
 * reconciliation, never marked failed on a guess.
 */
export async function sendCharge(
  provider: PaymentProvider,
  payment: Payment,
  description: string,
  logger: Logger,
): Promise<ChargeOutcome> {
  try {
    return await provider.charge({
      idempotencyKey: payment.idempotencyKey,
      amountMinor: payment.amountMinor,
      currency: payment.currency,
      customerId: payment.userId,
      description,
      paymentMethod: payment.paymentMethod ?? undefined,
      metadata: { paymentId: payment.id, invoiceId: payment.invoiceId },
    });
  } catch (error) {
    const retryable = error instanceof PaymentProviderError ? error.retryable : true;
    logger.warn(
      { err: error, paymentId: payment.id, idempotencyKey: payment.idempotencyKey },
      "charge outcome unknown; payment left PENDING for reconciliation",
    );
    return {
      status: "unknown",
      retryable,
      reason: error instanceof Error ? error.message : String(error),
    };
  }
}

/** The problem a client gets when its charge's outcome is unknown. */
export function unknownOutcomeError(
  outcome: { retryable: boolean },
  ids: { subscriptionId: string; paymentId: string },
): AppError {
  return new AppError(outcome.retryable ? "SERVICE_UNAVAILABLE" : "BAD_GATEWAY", {
    detail:
      "The payment provider did not confirm the charge. The payment stays pending and is settled " +
      "automatically; check the subscription before trying again.",
    extra: { ...ids, paymentStatus: "PENDING" },
    ...(outcome.retryable ? { retryAfter: 30 } : {}),
  });
}

const unsettled = new WeakSet<AppError>();

/**
 * A 409 because a payment is still unsettled (or a subscription still waits for
 * its first one): true now, but not the request's final answer, so an
 * Idempotency-Key does not store it; a retry after settlement gets the real one.
 */
export function unsettledConflict(detail: string, extra?: Record<string, unknown>): AppError {
  const error = new AppError("CONFLICT", { detail, ...(extra ? { extra } : {}) });
  unsettled.add(error);
  return error;
}

export function isUnsettledConflict(error: unknown): boolean {
  return error instanceof AppError && unsettled.has(error);
}

/** The 402 for a declined charge. */
export function declinedError(
  result: { code: string; message: string },
  ids: { subscriptionId: string; invoiceId: string; paymentId: string },
): AppError {
  return new AppError("PAYMENT_DECLINED", {
    detail: result.message,
    extra: { declineCode: result.code, ...ids },
  });
}
