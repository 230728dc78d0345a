import { type Db, invoices, serviceInstances, subscriptions } from "@minispod/db";
import { type Actor, enqueueEvent, recordAudit } from "@minispod/shared";
import { eq } from "drizzle-orm";
import type { BillingContext } from "./context";
import { subscriptionEventData } from "./events";
import type { LockedPayment } from "./locked-payment";
import { addDays } from "./period";

/**
 * Provider keys of the charges the billing sweep sends: `ren_<invoice id>_<attempt>`.
 * One key per invoice and attempt, so two sweeps can never both charge one attempt
 * (payments_idempotency_key_uq), and a declined key marks a dunning step.
 */
export const RENEWAL_KEY_PREFIX = "ren_";

export function renewalKey(invoiceId: string, attempt: number): string {
  return `${RENEWAL_KEY_PREFIX}${invoiceId}_${attempt}`;
}

/** True for a charge the billing sweep sent on its own (not a customer's renew or subscribe). */
export function isScheduledRenewal(payment: { idempotencyKey: string }): boolean {
  return payment.idempotencyKey.startsWith(RENEWAL_KEY_PREFIX);
}

/**
 * A scheduled renewal was declined. Inside the renewal window (the period is
 * still paid) the subscription stays ACTIVE and the charge is retried once at
 * the period's end; from the period's end on: PAST_DUE with the next retry on the
 * dunning schedule (days after the period's end), the instance still running;
 * or, when the retries are used up, EXPIRED with the invoice UNCOLLECTIBLE.
 * Runs in the settling transaction, after the payment was marked FAILED, with
 * the subscription, invoice and payment locked. Returns outbox ids.
 */
export async function applyDunning(
  tx: Db,
  ctx: BillingContext,
  { subscription, invoice, service }: LockedPayment,
  actor: Actor,
): Promise<string[]> {
  const now = ctx.now();
  if (now < subscription.currentPeriodEnd) {
    return declinedBeforePeriodEnd(tx, { subscription, invoice }, actor, now);
  }
  const days = ctx.settings.dunningDays;
  const failures = subscription.renewalAttempts + 1;
  const graceEndsAt = addDays(subscription.currentPeriodEnd, days.at(-1) ?? 0);
  const retryDay = days[failures - 1];
  if (retryDay === undefined) {
    const [expired] = await tx
      .update(subscriptions)
      .set({
        status: "EXPIRED",
        expiredAt: now,
        renewalAttempts: failures,
        nextRenewalAttemptAt: null,
        graceEndsAt,
      })
      .where(eq(subscriptions.id, subscription.id))
      .returning();
    await tx.update(invoices).set({ status: "UNCOLLECTIBLE" }).where(eq(invoices.id, invoice.id));
    const [instance] = await tx
      .select({ id: serviceInstances.id })
      .from(serviceInstances)
      .where(eq(serviceInstances.subscriptionId, subscription.id));
    await recordAudit(tx, {
      actor,
      action: "subscription.expired",
      resourceType: "subscription",
      resourceId: subscription.id,
      ownerId: subscription.userId,
      metadata: { reason: "renewal_failed", failures, invoiceId: invoice.id },
      at: now,
    });
    return [
      await enqueueEvent(tx, {
        type: "subscription.expired",
        source: ctx.source,
        subject: subscription.id,
        data: subscriptionEventData(expired!, service, {
          previousStatus: subscription.status,
          reason: "renewal_failed",
          ...(instance ? { instanceId: instance.id } : {}),
        }),
      }),
    ];
  }
  const scheduled = addDays(subscription.currentPeriodEnd, retryDay);
  const nextRenewalAttemptAt = new Date(Math.max(scheduled.getTime(), now.getTime()));
  const [pastDue] = await tx
    .update(subscriptions)
    .set({ status: "PAST_DUE", renewalAttempts: failures, nextRenewalAttemptAt, graceEndsAt })
    .where(eq(subscriptions.id, subscription.id))
    .returning();
  await recordAudit(tx, {
    actor,
    action: "subscription.past_due",
    resourceType: "subscription",
    resourceId: subscription.id,
    ownerId: subscription.userId,
    metadata: { failures, nextRenewalAttemptAt: nextRenewalAttemptAt.toISOString() },
    at: now,
  });
  // The customer hears once, when the subscription falls behind; each retry's
  // decline still emits its own payment.failed.
  if (subscription.status === "PAST_DUE") return [];
  return [
    await enqueueEvent(tx, {
      type: "subscription.past_due",
      source: ctx.source,
      subject: subscription.id,
      data: subscriptionEventData(pastDue!, service, {
        previousStatus: subscription.status,
        nextRenewalAttemptAt: nextRenewalAttemptAt.toISOString(),
        graceEndsAt: graceEndsAt.toISOString(),
      }),
    }),
  ];
}

/**
 * The charge sent ahead of the period's end was declined: the customer paid
 * for the time left, so the subscription stays ACTIVE (never PAST_DUE before
 * its period ends) and the billing sweep retries at the end, as dunning
 * attempt 1 (on the method the customer may have changed meanwhile).
 * `payment.failed` still tells the customer, who has until then to fix it.
 */
async function declinedBeforePeriodEnd(
  tx: Db,
  { subscription, invoice }: Pick<LockedPayment, "subscription" | "invoice">,
  actor: Actor,
  now: Date,
): Promise<string[]> {
  await tx
    .update(subscriptions)
    .set({ nextRenewalAttemptAt: subscription.currentPeriodEnd })
    .where(eq(subscriptions.id, subscription.id));
  await recordAudit(tx, {
    actor,
    action: "subscription.renewal_declined",
    resourceType: "subscription",
    resourceId: subscription.id,
    ownerId: subscription.userId,
    metadata: {
      invoiceId: invoice.id,
      retryAt: subscription.currentPeriodEnd.toISOString(),
    },
    at: now,
  });
  return [];
}
