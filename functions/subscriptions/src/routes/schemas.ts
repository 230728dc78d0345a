import { instanceStatus, invoiceStatus, subscriptionStatus } from "@minispod/db";
import * as v from "valibot";

/**
 * The subscription as the API answers it (wire form: timestamps are ISO
 * strings). The document states these schemas, and under test every answer
 * is checked against them, so they follow `subscriptionDto`/`invoiceDto`.
 */
const timestamp = v.pipe(v.string(), v.isoTimestamp());

export const invoiceSchema = v.object({
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
});

export const subscriptionSchema = v.object({
  id: v.pipe(v.string(), v.uuid()),
  userId: v.pipe(v.string(), v.uuid()),
  status: v.picklist(subscriptionStatus.enumValues),
  service: v.object({ id: v.pipe(v.string(), v.uuid()), slug: v.string(), name: v.string() }),
  autoRenew: v.boolean(),
  currentPeriodStart: timestamp,
  currentPeriodEnd: timestamp,
  cancelledAt: v.nullable(timestamp),
  expiredAt: v.nullable(timestamp),
  createdAt: timestamp,
  updatedAt: timestamp,
  instance: v.nullable(
    v.object({
      id: v.pipe(v.string(), v.uuid()),
      status: v.picklist(instanceStatus.enumValues),
      url: v.string(),
    }),
  ),
});

export const subscriptionDetailSchema = v.object({
  ...subscriptionSchema.entries,
  latestInvoice: v.nullable(invoiceSchema),
  invoices: v.array(invoiceSchema),
});
