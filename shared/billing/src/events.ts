import type { invoices, payments, subscriptions } from "@minispod/db";
import type { EventData } from "@minispod/shared";

type Subscription = typeof subscriptions.$inferSelect;
type Invoice = typeof invoices.$inferSelect;
type Payment = typeof payments.$inferSelect;

export interface ServiceRef {
  id: string;
  slug: string;
  name: string;
}

/** `data` of every `subscription.*` event; `extra` carries what a consumer may want (instance...). */
export function subscriptionEventData(
  subscription: Subscription,
  service: ServiceRef,
  extra: Record<string, unknown> = {},
): EventData<"subscription.activated"> {
  return {
    ...extra,
    userId: subscription.userId,
    subscriptionId: subscription.id,
    serviceId: service.id,
    serviceSlug: service.slug,
    serviceName: service.name,
    status: subscription.status,
    currentPeriodStart: subscription.currentPeriodStart.toISOString(),
    currentPeriodEnd: subscription.currentPeriodEnd.toISOString(),
    autoRenew: subscription.autoRenew,
  };
}

export function paymentEventData(
  payment: Payment,
  invoice: Invoice,
): EventData<"payment.succeeded"> {
  return {
    userId: payment.userId,
    paymentId: payment.id,
    invoiceId: invoice.id,
    subscriptionId: invoice.subscriptionId,
    amountMinor: payment.amountMinor,
    currency: payment.currency,
    failureCode: payment.failureCode,
    failureMessage: payment.failureMessage,
  };
}

export function invoicePaidData(invoice: Invoice): EventData<"invoice.paid"> {
  return {
    userId: invoice.userId,
    invoiceId: invoice.id,
    number: invoice.number,
    subscriptionId: invoice.subscriptionId,
    amountMinor: invoice.amountMinor,
    currency: invoice.currency,
    periodStart: invoice.periodStart.toISOString(),
    periodEnd: invoice.periodEnd.toISOString(),
  };
}
