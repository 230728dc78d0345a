import {
  backups,
  isUniqueViolation,
  serviceCatalog,
  serviceInstances,
  subscriptions,
} from "@minispod/db";
import { AppError, recordAudit } from "@minispod/shared";
import { and, eq, inArray } from "drizzle-orm";
import { unsettledConflict } from "./charge";
import {
  chargeAndSettle,
  chargeInProgress,
  isPaymentKeyTaken,
  paymentWithKey,
  resumeCharge,
} from "./charge-and-settle";
import type { Actor, BillingContext } from "./context";
import { addMonths } from "./period";
import { describePeriod, insertInvoice, insertPendingPayment } from "./records";
import { loadSubscriptionDetail, type SubscriptionDetail } from "./views";

export interface SubscribeInput {
  /** The customer who subscribes (and pays). */
  userId: string;
  serviceSlug: string;
  /** Provider payment method; the sandbox reads its test methods from it. */
  paymentMethod?: string | undefined;
  autoRenew?: boolean | undefined;
  /** The customer's own READY backup of an instance of this app: the new instance starts with its data. */
  restoreFromBackupId?: string | undefined;
  actor: Actor;
  /**
   * The provider key for the charge, derived from the request's Idempotency-Key
   * claim: a retry that takes over a dead request's claim finds that request's
   * payment and finishes it instead of subscribing (and charging) again.
   */
  chargeKey?: string | undefined;
  /** True when the request that used `chargeKey` before has ended (it released the key). */
  chargeKeyReleased?: boolean | undefined;
}

/**
 * Subscribes a customer to a catalog service and charges the first period.
 *
 * 1. One transaction writes the subscription (PENDING), its OPEN invoice and a
 *    PENDING payment carrying the idempotency key, and commits.
 * 2. The charge is sent with that key.
 * 3. `settleCharge` applies the answer: ACTIVE + PAID + instance, or FAILED +
 *    VOID (402). An unknown outcome leaves everything PENDING (502/503) for the
 *    reconciliation, which settles it with `findCharge`.
 */
export async function subscribe({
  ctx,
  input,
}: {
  ctx: BillingContext;
  input: SubscribeInput;
}): Promise<SubscriptionDetail> {
  if (input.chargeKey) {
    const earlier = await paymentWithKey(ctx.db, input.chargeKey);
    if (earlier && earlier.payment.userId === input.userId) {
      await resumeCharge(ctx, earlier, input.actor, { earlierEnded: input.chargeKeyReleased });
      return (await loadSubscriptionDetail(ctx.db, earlier.invoice.subscriptionId))!;
    }
  }
  const [service] = await ctx.db
    .select()
    .from(serviceCatalog)
    .where(eq(serviceCatalog.slug, input.serviceSlug));
  if (!service) {
    throw new AppError("NOT_FOUND", { detail: `No service with the slug "${input.serviceSlug}".` });
  }
  if (!service.active || service.retiredAt) {
    throw new AppError("UNPROCESSABLE", {
      detail: `The service "${service.slug}" is not open for new subscriptions.`,
    });
  }

  if (input.restoreFromBackupId) {
    await checkRestorableBackup(ctx.db, input.userId, service, input.restoreFromBackupId);
  }

  const now = ctx.now();
  const periodEnd = addMonths(now, 1);
  const description = describePeriod(service.name, now, periodEnd);
  // Only new rows here (subscription, invoice, payment: no one else can hold them);
  // settling below then locks them in the global order, subscription -> invoice -> payment.
  const pending = await ctx.db
    .transaction(async (tx) => {
      if (!service.allowMultiple) await refuseSecondLive(tx, input.userId, service.id);
      const [subscription] = await tx
        .insert(subscriptions)
        .values({
          userId: input.userId,
          serviceId: service.id,
          status: "PENDING",
          currentPeriodStart: now,
          currentPeriodEnd: periodEnd,
          autoRenew: input.autoRenew ?? true,
          exclusive: !service.allowMultiple,
          restoreFromBackupId: input.restoreFromBackupId ?? null,
        })
        .returning();
      const invoice = await insertInvoice(tx, {
        subscriptionId: subscription!.id,
        userId: input.userId,
        periodStart: now,
        periodEnd,
        amountMinor: service.priceMinor,
        currency: service.currency,
        description,
        now,
      });
      const payment = await insertPendingPayment(tx, invoice, {
        provider: ctx.provider.name,
        paymentMethod: input.paymentMethod ?? null,
        idempotencyKey: input.chargeKey,
      });
      await recordAudit(tx, {
        actor: input.actor,
        action: "subscription.created",
        resourceType: "subscription",
        resourceId: subscription!.id,
        ownerId: subscription!.userId,
        metadata: {
          serviceSlug: service.slug,
          invoiceId: invoice.id,
          paymentId: payment.id,
          ...(input.restoreFromBackupId ? { restoreFromBackupId: input.restoreFromBackupId } : {}),
        },
      });
      return { subscription: subscription!, invoice, payment };
    })
    .catch((error: unknown) => {
      // Two different requests raced past the check above; the index decided.
      if (isUniqueViolation(error, "subscriptions_one_live_per_service_uq")) throw liveConflict();
      // The request whose claim we took over was alive after all and got here first.
      if (isPaymentKeyTaken(error)) throw chargeInProgress();
      throw error;
    });

  const ids = {
    subscriptionId: pending.subscription.id,
    invoiceId: pending.invoice.id,
    paymentId: pending.payment.id,
  };
  await chargeAndSettle(ctx, pending.payment, description, input.actor, ids);
  return (await loadSubscriptionDetail(ctx.db, pending.subscription.id))!;
}

/**
 * A backup to start a new instance from: the customer's own (another customer's or an
 * unknown one answers 404, like a missing one), READY (409 otherwise, as for a restore),
 * of an instance of the same app (422). A READY backup proves the storage snapshots.
 */
async function checkRestorableBackup(
  db: BillingContext["db"],
  userId: string,
  service: typeof serviceCatalog.$inferSelect,
  backupId: string,
) {
  const [found] = await db
    .select({ backup: backups, serviceId: subscriptions.serviceId })
    .from(backups)
    .innerJoin(serviceInstances, eq(serviceInstances.id, backups.instanceId))
    .innerJoin(subscriptions, eq(subscriptions.id, serviceInstances.subscriptionId))
    .where(and(eq(backups.id, backupId), eq(backups.userId, userId)));
  if (!found || found.backup.status === "DELETED") {
    throw new AppError("NOT_FOUND", {
      detail: "No backup with this id.",
      fields: [{ field: "restoreFromBackupId", message: "is not one of your backups" }],
    });
  }
  if (found.serviceId !== service.id) {
    throw new AppError("UNPROCESSABLE", {
      detail: `This backup is of another app; it can only be restored into an instance of that app, not ${service.name}.`,
      fields: [{ field: "restoreFromBackupId", message: "is a backup of another app" }],
    });
  }
  if (found.backup.status !== "READY") {
    throw new AppError("CONFLICT", {
      detail: `Only a ready backup can be restored; this one is ${found.backup.status.toLowerCase().replace("_", " ")}.`,
    });
  }
}

async function refuseSecondLive(tx: BillingContext["db"], userId: string, serviceId: string) {
  const [live] = await tx
    .select({ id: subscriptions.id, status: subscriptions.status })
    .from(subscriptions)
    .where(
      and(
        eq(subscriptions.userId, userId),
        eq(subscriptions.serviceId, serviceId),
        eq(subscriptions.exclusive, true),
        inArray(subscriptions.status, ["PENDING", "ACTIVE", "PAST_DUE"]),
      ),
    )
    .limit(1);
  if (live) throw liveConflict(live);
}

function liveConflict(live?: { id: string; status: string }): AppError {
  const extra = live ? { subscriptionId: live.id, subscriptionStatus: live.status } : undefined;
  // Waiting for a first payment, or lost a race to a request whose charge is under way:
  // true now, but it may end FAILED, so not an answer to store under an Idempotency-Key.
  if (!live || live.status === "PENDING") {
    return unsettledConflict(
      live
        ? "A subscription to this service is waiting for its first payment to be confirmed."
        : "You already have a live subscription to this service.",
      extra,
    );
  }
  return new AppError("CONFLICT", {
    detail: "You already have a live subscription to this service.",
    extra: extra!,
  });
}
