import { sql } from "drizzle-orm";
import {
  boolean,
  index,
  integer,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { createdAt, id, ts, updatedAt } from "./_common";
import { serviceCatalog } from "./catalog";
import { users } from "./users";

/**
 * PENDING: created with its first invoice, first charge sent or its outcome unknown;
 * not yet live, no instance (reconciliation settles it).
 * ACTIVE: paid and running. PAST_DUE: renewal failed, in the grace period, still running.
 * EXPIRED: period over, instance suspended (data kept for the retention window).
 * CANCELLED: ended by the customer or an admin, instance deleted.
 * FAILED: the first charge was declined (or never reached the provider); never live,
 * nothing billable (its invoice is VOID).
 */
export const subscriptionStatus = pgEnum("subscription_status", [
  "PENDING",
  "ACTIVE",
  "PAST_DUE",
  "EXPIRED",
  "CANCELLED",
  "FAILED",
]);
export type SubscriptionStatus = (typeof subscriptionStatus.enumValues)[number];

export const subscriptions = pgTable(
  "subscriptions",
  {
    id: id(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    serviceId: uuid("service_id")
      .notNull()
      .references(() => serviceCatalog.id, { onDelete: "restrict" }),
    status: subscriptionStatus("status").notNull(),
    currentPeriodStart: ts("current_period_start").notNull(),
    /** expiresAt of the seed note. */
    currentPeriodEnd: ts("current_period_end").notNull(),
    autoRenew: boolean("auto_renew").notNull().default(true),
    /**
     * The last successful charge left a payment method the provider can charge
     * again without the customer (`ChargeResult.reusable`). Without one the
     * billing sweep does not renew and the expiry sweep reminds and expires,
     * as for auto-renew off.
     */
    cardOnFile: boolean("card_on_file").notNull().default(true),
    /**
     * Copied from the catalog's `allowMultiple` (negated) at creation, so the
     * database itself enforces one live subscription per customer and service.
     */
    exclusive: boolean("exclusive").notNull().default(true),
    renewalAttempts: integer("renewal_attempts").notNull().default(0),
    nextRenewalAttemptAt: ts("next_renewal_attempt_at"),
    graceEndsAt: ts("grace_ends_at"),
    /**
     * Cancelled at period end (the customer did not ask for deletion now):
     * auto-renew is off with it, the subscription runs until currentPeriodEnd,
     * then takes the normal expiry path. Undoing (or turning auto-renew back
     * on) clears it.
     */
    cancelAtPeriodEnd: boolean("cancel_at_period_end").notNull().default(false),
    /**
     * The payment method the customer set (`PUT .../payment-method`); renewals
     * charge it. Null: the method of the last successful payment.
     */
    paymentMethod: text("payment_method"),
    cancelledAt: ts("cancelled_at"),
    cancelReason: text("cancel_reason"),
    expiredAt: ts("expired_at"),
    /** Set when an EXPIRED subscription passed its retention window: workload and data deleted. */
    purgedAt: ts("purged_at"),
    /**
     * Subscribed with `restoreFromBackupId`: the new instance's first volume is
     * created from this backup's snapshot (a NEW_INSTANCE restore), never empty.
     * Its foreign key to `backups(id)` (ON DELETE SET NULL) is created by migration
     * 0017 but not declared here: declaring it would close an import circle
     * (subscriptions -> backups -> instances -> subscriptions), so the migration's
     * snapshot leaves it out too and drizzle-kit neither adds nor drops it.
     */
    restoreFromBackupId: uuid("restore_from_backup_id"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("subscriptions_user_idx").on(t.userId, t.createdAt, t.id),
    index("subscriptions_status_period_end_idx").on(t.status, t.currentPeriodEnd),
    index("subscriptions_created_idx").on(t.createdAt, t.id),
    // The sweeps take due rows oldest first in batches: these partial indexes give them in
    // period order without scanning (and sorting) every live subscription per batch.
    index("subscriptions_renewal_due_idx")
      .on(t.currentPeriodEnd)
      .where(sql`${t.status} = 'ACTIVE' and ${t.autoRenew} and ${t.cardOnFile}`),
    index("subscriptions_expiry_due_idx")
      .on(t.currentPeriodEnd)
      .where(
        sql`${t.status} in ('ACTIVE', 'PAST_DUE') and (not ${t.autoRenew} or not ${t.cardOnFile})`,
      ),
    // The expiry sweeper's purge: EXPIRED rows still holding data, oldest expiry first. Only
    // those inside the retention window (and those due) are in it; purged ones leave it, so
    // its claim stays a short index range however many subscriptions ended before.
    index("subscriptions_purge_due_idx")
      .on(t.expiredAt)
      .where(sql`${t.status} = 'EXPIRED' and ${t.purgedAt} is null`),
    // The billing sweep's dunning retries: few rows, found without scanning the live ones.
    index("subscriptions_past_due_retry_idx")
      .on(t.nextRenewalAttemptAt)
      .where(sql`${t.status} = 'PAST_DUE'`),
    // PENDING counts as live: a second subscribe while the first charge is unsettled
    // must not charge the customer twice for one service.
    uniqueIndex("subscriptions_one_live_per_service_uq")
      .on(t.userId, t.serviceId)
      .where(sql`${t.exclusive} and ${t.status} in ('PENDING', 'ACTIVE', 'PAST_DUE')`),
  ],
);

/**
 * Expiry reminders sent (7, 3, 1 days before a period ends): one row per
 * subscription, period and threshold, so each reminder goes out once even when
 * sweeps overlap or rerun.
 */
export const subscriptionReminders = pgTable(
  "subscription_reminders",
  {
    subscriptionId: uuid("subscription_id")
      .notNull()
      .references(() => subscriptions.id, { onDelete: "cascade" }),
    periodEnd: ts("period_end").notNull(),
    daysBefore: integer("days_before").notNull(),
    sentAt: ts("sent_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.subscriptionId, t.periodEnd, t.daysBefore] })],
);
