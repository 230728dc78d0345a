import type { Db } from "@minispod/db";
import { AppError } from "@minispod/shared";
import { lockReachableSubscription } from "./access";
import { changeSubscription } from "./change";
import type { Actor, BillingContext } from "./context";
import { PaymentProviderError } from "./payments/index";
import { renew } from "./renew";
import { loadSubscriptionDetail, type SubscriptionDetail } from "./views";

/** What happened to the overdue renewal retried on the new method (null: nothing was overdue). */
export interface OverdueRetry {
  outcome: "succeeded" | "declined";
  /** The provider's decline code, when declined. */
  declineCode: string | null;
  message: string;
}

export type PaymentMethodResult = SubscriptionDetail & { overdueRetry: OverdueRetry | null };

const UPDATABLE = new Set(["ACTIVE", "PAST_DUE"]);

/**
 * The customer's card update: the provider keeps the new method
 * (`attachPaymentMethod`; a refusal is a 402 and changes nothing), then the
 * subscription charges it from now on (`subscriptions.payment_method`, card on
 * file again), with `subscription.payment_method_updated` and an audit row.
 * A PAST_DUE subscription is retried at once on it (a customer renew of the
 * overdue period): success makes it ACTIVE again; a decline leaves dunning as
 * it was and is told in `overdueRetry`.
 */
export async function updatePaymentMethod({
  ctx,
  input,
}: {
  ctx: BillingContext;
  input: { subscriptionId: string; actor: Actor; paymentMethod: string };
}): Promise<PaymentMethodResult> {
  // Checked before the provider is asked, so another customer's id learns nothing.
  const before = await ctx.db.transaction(async (tx) => {
    const { subscription } = await lockReachableSubscription(tx, input.subscriptionId, input.actor);
    refuseEnded(subscription.status);
    return subscription;
  });
  const attached = await ctx.provider
    .attachPaymentMethod({ customerId: before.userId, paymentMethod: input.paymentMethod })
    .catch((error: unknown) => {
      if (error instanceof PaymentProviderError) {
        throw new AppError(error.retryable ? "SERVICE_UNAVAILABLE" : "BAD_GATEWAY", {
          detail: "The payment provider did not answer; nothing was changed. Try again shortly.",
          ...(error.retryable ? { retryAfter: 30 } : {}),
        });
      }
      throw error;
    });
  if (attached.status === "rejected") {
    throw new AppError("PAYMENT_DECLINED", {
      detail: attached.message,
      extra: { declineCode: attached.code },
    });
  }
  const { status, eventIds } = await ctx.db.transaction(async (tx) => {
    const { subscription, service } = await lockReachableSubscription(
      tx,
      input.subscriptionId,
      input.actor,
    );
    refuseEnded(subscription.status);
    return {
      status: subscription.status,
      eventIds: [await recordMethod(tx, ctx, { subscription, service }, input)],
    };
  });
  ctx.events.kick(eventIds);
  const overdueRetry = status === "PAST_DUE" ? await retryOverdue(ctx, input) : null;
  const detail = (await loadSubscriptionDetail(ctx.db, input.subscriptionId))!;
  return { ...detail, overdueRetry };
}

function refuseEnded(status: string) {
  if (!UPDATABLE.has(status)) {
    throw new AppError("CONFLICT", {
      detail: `A ${status} subscription has no renewal to charge; renew it with a payment method instead.`,
      extra: { subscriptionStatus: status },
    });
  }
}

function recordMethod(
  tx: Db,
  ctx: BillingContext,
  locked: Awaited<ReturnType<typeof lockReachableSubscription>>,
  input: { actor: Actor; paymentMethod: string },
): Promise<string> {
  return changeSubscription(tx, ctx, locked, {
    change: "subscription.payment_method_updated",
    set: { paymentMethod: input.paymentMethod, cardOnFile: true },
    actor: input.actor,
    // The method's reference stays ours: it is not a secret, but neither is it the customer's to read back.
    metadata: { previousStatus: locked.subscription.status },
    eventExtra: { retryingOverdue: locked.subscription.status === "PAST_DUE" },
  });
}

async function retryOverdue(
  ctx: BillingContext,
  input: { subscriptionId: string; actor: Actor; paymentMethod: string },
): Promise<OverdueRetry> {
  try {
    await renew({ ctx, input });
    return { outcome: "succeeded", declineCode: null, message: "The overdue renewal was paid." };
  } catch (error) {
    if (error instanceof AppError && error.code === "PAYMENT_DECLINED") {
      const code = error.extra?.declineCode;
      return {
        outcome: "declined",
        declineCode: typeof code === "string" ? code : null,
        message: `The overdue renewal was declined on the new method: ${error.detail ?? "declined"}`,
      };
    }
    throw error;
  }
}
