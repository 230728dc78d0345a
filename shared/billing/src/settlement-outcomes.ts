import { randomUUID } from "node:crypto";
import type { ChargeResult } from "@minispod/billing/payments";
import { instanceObjects, placementOf } from "@minispod/cluster";
import {
  backupRestores,
  backups,
  type Db,
  instanceStatusEvents,
  instanceVolumes,
  invoices,
  payments,
  serviceInstances,
  subscriptions,
} from "@minispod/db";
import { enqueueEvent, recordAudit } from "@minispod/shared";
import { eq } from "drizzle-orm";
import type { Actor, BillingContext } from "./context";
import { applyDunning, isScheduledRenewal } from "./dunning";
import { invoicePaidData, paymentEventData, subscriptionEventData } from "./events";
import type { LockedPayment } from "./locked-payment";
import { addMonths } from "./period";

type Subscription = typeof subscriptions.$inferSelect;

/** A successful charge: pays the invoice and activates or renews; returns outbox ids. */
export async function applySuccess(
  tx: Db,
  ctx: BillingContext,
  { payment, invoice, subscription, service }: LockedPayment,
  result: ChargeResult,
  actor: Actor,
): Promise<string[]> {
  const now = ctx.now();
  const providerPaymentId = result.providerPaymentId ?? null;
  const [paid] = await tx
    .update(payments)
    .set({ status: "SUCCEEDED", providerPaymentId, failureCode: null, failureMessage: null })
    .where(eq(payments.id, payment.id))
    .returning();

  if (subscription.status === "CANCELLED" || subscription.status === "FAILED") {
    // Cancel and the first-charge path refuse while a payment is pending, so only a
    // provider confirming what we had already given up lands here: keep the money
    // on record, leave the subscription alone, and flag it for a refund.
    ctx.logger.error(
      { subscriptionId: subscription.id, paymentId: payment.id },
      "charge succeeded for an ended subscription; refund it",
    );
    await tx
      .update(invoices)
      .set({ status: "PAID", paidAt: now })
      .where(eq(invoices.id, invoice.id));
    return [];
  }
  const first = subscription.status === "PENDING";
  // A first period starts when the customer gets the app, even if the charge was
  // confirmed late by reconciliation; a renewal keeps the period it billed.
  const periodStart = first ? now : invoice.periodStart;
  const periodEnd = first ? addMonths(now, 1) : invoice.periodEnd;
  const [paidInvoice] = await tx
    .update(invoices)
    .set({ status: "PAID", paidAt: now, periodStart, periodEnd })
    .where(eq(invoices.id, invoice.id))
    .returning();
  const [active] = await tx
    .update(subscriptions)
    .set({
      status: "ACTIVE",
      currentPeriodStart: periodStart,
      currentPeriodEnd: periodEnd,
      renewalAttempts: 0,
      nextRenewalAttemptAt: null,
      graceEndsAt: null,
      expiredAt: null,
      cardOnFile: cardLeftOnFile(result),
    })
    .where(eq(subscriptions.id, subscription.id))
    .returning();

  const events: string[] = [];
  if (first) {
    const instance = await createInstance(tx, ctx, active!);
    const restoreEvent = await restoreIntoNewInstance(tx, ctx, active!, instance.id, service.name);
    if (restoreEvent) events.push(restoreEvent);
    events.push(
      await enqueueEvent(tx, {
        type: "subscription.activated",
        source: ctx.source,
        subject: subscription.id,
        data: subscriptionEventData(active!, service, {
          instanceId: instance.id,
          url: instance.url,
        }),
      }),
    );
  } else {
    events.push(
      await enqueueEvent(tx, {
        type: "subscription.renewed",
        source: ctx.source,
        subject: subscription.id,
        // The provisioner resumes a suspended instance when the previous status was EXPIRED.
        data: subscriptionEventData(active!, service, { previousStatus: subscription.status }),
      }),
    );
  }
  events.push(
    await enqueueEvent(tx, {
      type: "invoice.paid",
      source: ctx.source,
      subject: invoice.id,
      data: invoicePaidData(paidInvoice!),
    }),
    await enqueueEvent(tx, {
      type: "payment.succeeded",
      source: ctx.source,
      subject: payment.id,
      data: paymentEventData(paid!, paidInvoice!),
    }),
  );
  await recordAudit(tx, {
    actor,
    action: first ? "subscription.activated" : "subscription.renewed",
    resourceType: "subscription",
    resourceId: subscription.id,
    ownerId: subscription.userId,
    metadata: { invoiceId: invoice.id, paymentId: payment.id, providerPaymentId },
  });
  return events;
}

/**
 * Whether a successful charge left a method the provider may charge again
 * without the customer: the one rule for `subscriptions.card_on_file`.
 */
export function cardLeftOnFile(result: ChargeResult): boolean {
  return result.status === "succeeded" ? (result.reusable ?? true) : false;
}

async function createInstance(tx: Db, ctx: BillingContext, subscription: Subscription) {
  // The id is chosen here because the cluster objects are named after it: the URL shown
  // from now on is the one the provisioner's objects will answer at.
  const id = randomUUID();
  const placement = placementOf(
    instanceObjects(ctx.settings, { customerId: subscription.userId, instanceId: id }),
  );
  const [instance] = await tx
    .insert(serviceInstances)
    .values({ id, subscriptionId: subscription.id, ...placement, status: "PENDING" })
    .returning();
  await tx
    .insert(instanceStatusEvents)
    .values({ instanceId: instance!.id, status: "PENDING", message: "Waiting to be provisioned." });
  return instance!;
}

/**
 * Subscribed with `restoreFromBackupId`: the instance's first volume (generation 0) is
 * to be created from the backup's snapshot, recorded as a NEW_INSTANCE restore that the
 * provisioner finishes when the instance runs (`backup.restored`). A backup deleted
 * between the subscribe and the settlement cannot be restored: the restore is FAILED at
 * once (`backup.restore_failed`) and the paid instance starts empty. Returns the outbox id
 * of that event, if any.
 */
async function restoreIntoNewInstance(
  tx: Db,
  ctx: BillingContext,
  subscription: Subscription,
  instanceId: string,
  serviceName: string,
): Promise<string | undefined> {
  if (!subscription.restoreFromBackupId) return undefined;
  const [backup] = await tx
    .select()
    .from(backups)
    .where(eq(backups.id, subscription.restoreFromBackupId));
  if (!backup) return undefined;
  const ready = backup.status === "READY";
  const reason = ready
    ? null
    : "The backup was deleted before the new instance was created; it starts empty.";
  const [restore] = await tx
    .insert(backupRestores)
    .values({
      backupId: backup.id,
      targetInstanceId: instanceId,
      target: "NEW_INSTANCE",
      ...(ready ? {} : { status: "FAILED" as const, error: reason, finishedAt: ctx.now() }),
      createdAt: ctx.now(),
    })
    .returning();
  if (ready) {
    await tx
      .insert(instanceVolumes)
      .values({ instanceId, generation: 0, sourceSnapshot: backup.snapshotName });
    return undefined;
  }
  return enqueueEvent(tx, {
    type: "backup.restore_failed",
    source: ctx.source,
    subject: restore!.id,
    data: {
      userId: backup.userId,
      restoreId: restore!.id,
      backupId: backup.id,
      instanceId: backup.instanceId,
      targetInstanceId: instanceId,
      target: "NEW_INSTANCE",
      serviceName,
      reason,
    },
  });
}

/** A declined charge: fails the payment (and a first-charge subscription); returns outbox ids. */
export async function applyDecline(
  tx: Db,
  ctx: BillingContext,
  locked: LockedPayment,
  result: ChargeResult,
  actor: Actor,
): Promise<string[]> {
  const { payment, invoice, subscription } = locked;
  const failure =
    result.status === "declined"
      ? { failureCode: result.code, failureMessage: result.message }
      : { failureCode: "unknown", failureMessage: "The charge failed." };
  const [failed] = await tx
    .update(payments)
    .set({ status: "FAILED", providerPaymentId: result.providerPaymentId ?? null, ...failure })
    .where(eq(payments.id, payment.id))
    .returning();

  const first = subscription.status === "PENDING";
  // Nothing stays billable after a declined first charge or a declined revival of an
  // EXPIRED subscription; an unpaid renewal stays OPEN so dunning can retry it.
  if (first || subscription.status === "EXPIRED") {
    await tx.update(invoices).set({ status: "VOID" }).where(eq(invoices.id, invoice.id));
  }
  if (first) {
    await tx
      .update(subscriptions)
      .set({ status: "FAILED" })
      .where(eq(subscriptions.id, subscription.id));
  }
  await recordAudit(tx, {
    actor,
    action: first ? "subscription.first_payment_declined" : "subscription.renewal_payment_declined",
    resourceType: "subscription",
    resourceId: subscription.id,
    ownerId: subscription.userId,
    metadata: { invoiceId: invoice.id, paymentId: payment.id, ...failure },
  });
  const events = [
    await enqueueEvent(tx, {
      type: "payment.failed",
      source: ctx.source,
      subject: payment.id,
      data: paymentEventData(failed!, invoice),
    }),
  ];
  // Only the sweep's own charges move a subscription along the dunning schedule: a
  // customer's declined renew answers 402 and changes nothing else.
  if (
    isScheduledRenewal(payment) &&
    (subscription.status === "ACTIVE" || subscription.status === "PAST_DUE")
  ) {
    events.push(...(await applyDunning(tx, ctx, locked, actor)));
  }
  return events;
}
