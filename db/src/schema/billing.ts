import { sql } from "drizzle-orm";
import {
  bigint,
  char,
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { createdAt, id, logId, ts, updatedAt } from "./_common";
import { subscriptions } from "./subscriptions";
import { users } from "./users";

/**
 * Invoice numbers are legal document numbers: gapless per series ("INV-2026"),
 * one row per series holding the last number issued. An invoice takes its
 * number from this row in the transaction that issues it (the row stays locked
 * until that commit), so a rolled-back issue gives its numbers back and two
 * issues never interleave. A sequence could not: `nextval` survives rollbacks.
 */
export const invoiceNumberSeries = pgTable("invoice_number_series", {
  /** "INV-<year>", the invoice number's prefix without the trailing dash. */
  series: text("series").primaryKey(),
  lastNumber: bigint("last_number", { mode: "number" }).notNull(),
});

export const invoiceStatus = pgEnum("invoice_status", ["OPEN", "PAID", "VOID", "UNCOLLECTIBLE"]);
export type InvoiceStatus = (typeof invoiceStatus.enumValues)[number];

export const invoices = pgTable(
  "invoices",
  {
    id: id(),
    /** Human-facing number, e.g. "INV-2026-000123". */
    number: text("number").notNull(),
    subscriptionId: uuid("subscription_id")
      .notNull()
      .references(() => subscriptions.id, { onDelete: "restrict" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    periodStart: ts("period_start").notNull(),
    periodEnd: ts("period_end").notNull(),
    amountMinor: integer("amount_minor").notNull(),
    currency: char("currency", { length: 3 }).notNull(),
    status: invoiceStatus("status").notNull().default("OPEN"),
    description: text("description").notNull().default(""),
    paidAt: ts("paid_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // One invoice per subscription per period: a retried renewal can never bill twice.
    uniqueIndex("invoices_subscription_period_uq").on(t.subscriptionId, t.periodStart),
    uniqueIndex("invoices_number_uq").on(t.number),
    index("invoices_user_idx").on(t.userId, t.createdAt, t.id),
    index("invoices_created_idx").on(t.createdAt, t.id),
    check("invoices_amount_nonneg", sql`${t.amountMinor} >= 0`),
    check("invoices_period_order", sql`${t.periodEnd} > ${t.periodStart}`),
  ],
);

export const paymentStatus = pgEnum("payment_status", ["PENDING", "SUCCEEDED", "FAILED"]);
export type PaymentStatus = (typeof paymentStatus.enumValues)[number];

/**
 * One attempt to charge an invoice. The row (with its idempotency key) is written
 * before the charge is sent, so a crash mid-charge leaves a PENDING row that the
 * billing sweep reconciles with the provider instead of charging again.
 */
export const payments = pgTable(
  "payments",
  {
    id: id(),
    invoiceId: uuid("invoice_id")
      .notNull()
      .references(() => invoices.id, { onDelete: "restrict" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    amountMinor: integer("amount_minor").notNull(),
    currency: char("currency", { length: 3 }).notNull(),
    status: paymentStatus("status").notNull().default("PENDING"),
    provider: text("provider").notNull(),
    providerPaymentId: text("provider_payment_id"),
    idempotencyKey: text("idempotency_key").notNull(),
    paymentMethod: text("payment_method"),
    failureCode: text("failure_code"),
    failureMessage: text("failure_message"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("payments_idempotency_key_uq").on(t.idempotencyKey),
    uniqueIndex("payments_provider_payment_uq").on(t.provider, t.providerPaymentId),
    index("payments_invoice_idx").on(t.invoiceId),
    index("payments_status_idx").on(t.status, t.createdAt),
  ],
);

/** Payment-provider callbacks, each processed once (unique provider event id). */
export const paymentProviderEvents = pgTable(
  "payment_provider_events",
  {
    id: logId(),
    provider: text("provider").notNull(),
    providerEventId: text("provider_event_id").notNull(),
    type: text("type").notNull(),
    payload: jsonb("payload").notNull(),
    receivedAt: createdAt(),
  },
  (t) => [uniqueIndex("payment_provider_events_uq").on(t.provider, t.providerEventId)],
);
