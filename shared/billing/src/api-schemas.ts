import { instanceStatus, invoiceStatus, paymentStatus, subscriptionStatus } from "@minispod/db";
import { named } from "@minispod/shared";
import * as v from "valibot";

/**
 * Subscriptions, invoices and payments as the API answers them (wire form:
 * timestamps are ISO strings), for the functions' OpenAPI notes. Under test
 * every described answer is checked against them, so they follow the DTOs in
 * views.ts and invoices.ts.
 */
const timestamp = v.pipe(v.string(), v.isoTimestamp());

export const invoiceSchema = named(
  "Invoice",
  v.object({
    id: v.pipe(v.string(), v.uuid()),
    number: v.string(),
    subscriptionId: v.pipe(v.string(), v.uuid()),
    userId: v.pipe(v.string(), v.uuid()),
    status: v.picklist(invoiceStatus.enumValues),
    amountMinor: v.pipe(v.number(), v.integer()),
    currency: v.string(),
    periodStart: timestamp,
    periodEnd: timestamp,
    description: v.string(),
    paidAt: v.nullable(timestamp),
    createdAt: timestamp,
  }),
);

export const subscriptionSchema = named(
  "Subscription",
  v.object({
    id: v.pipe(v.string(), v.uuid()),
    userId: v.pipe(v.string(), v.uuid()),
    status: v.picklist(subscriptionStatus.enumValues),
    service: v.object({ id: v.pipe(v.string(), v.uuid()), slug: v.string(), name: v.string() }),
    autoRenew: v.boolean(),
    /** The last successful charge left a method we may charge again; false: renew by hand. */
    cardOnFile: v.boolean(),
    currentPeriodStart: timestamp,
    currentPeriodEnd: timestamp,
    /** Cancelled at period end: runs until currentPeriodEnd, then expires (undo before then). */
    cancelAtPeriodEnd: v.boolean(),
    cancelledAt: v.nullable(timestamp),
    expiredAt: v.nullable(timestamp),
    /** When the instance and its data were deleted after the retention window; null before. */
    purgedAt: v.nullable(timestamp),
    createdAt: timestamp,
    updatedAt: timestamp,
    instance: v.nullable(
      v.object({
        id: v.pipe(v.string(), v.uuid()),
        status: v.picklist(instanceStatus.enumValues),
        url: v.string(),
      }),
    ),
  }),
);

export const subscriptionDetailSchema = named(
  "SubscriptionDetail",
  v.object({
    ...subscriptionSchema.entries,
    latestInvoice: v.nullable(invoiceSchema),
    invoices: v.array(invoiceSchema),
  }),
);

/** The answer to a cancel: the subscription, and what the cancel means for the app and its data. */
export const cancellationSchema = v.object({
  ...subscriptionDetailSchema.entries,
  cancellation: v.object({
    mode: v.picklist(["period_end", "immediately"]),
    effectiveAt: timestamp,
    dataKeptUntil: v.nullable(timestamp),
    message: v.string(),
  }),
});

/** The answer to a card update: the subscription, and the overdue renewal retried on it. */
export const paymentMethodResultSchema = v.object({
  ...subscriptionDetailSchema.entries,
  overdueRetry: v.nullable(
    v.object({
      outcome: v.picklist(["succeeded", "declined"]),
      declineCode: v.nullable(v.string()),
      message: v.string(),
    }),
  ),
});

export const paymentSchema = named(
  "Payment",
  v.object({
    id: v.pipe(v.string(), v.uuid()),
    invoiceId: v.pipe(v.string(), v.uuid()),
    status: v.picklist(paymentStatus.enumValues),
    amountMinor: v.pipe(v.number(), v.integer()),
    currency: v.string(),
    provider: v.string(),
    providerPaymentId: v.nullable(v.string()),
    failureCode: v.nullable(v.string()),
    failureMessage: v.nullable(v.string()),
    createdAt: timestamp,
  }),
);

export const invoiceDetailSchema = named(
  "InvoiceDetail",
  v.object({
    ...invoiceSchema.entries,
    service: v.object({ id: v.pipe(v.string(), v.uuid()), slug: v.string(), name: v.string() }),
    payments: v.array(paymentSchema),
  }),
);
