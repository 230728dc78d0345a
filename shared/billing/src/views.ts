import {
  type Db,
  invoices,
  type payments,
  serviceCatalog,
  serviceInstances,
  subscriptions,
} from "@minispod/db";
import { desc, eq, getTableColumns } from "drizzle-orm";

type InvoiceRow = typeof invoices.$inferSelect;
type PaymentRow = typeof payments.$inferSelect;
type SubscriptionRow = typeof subscriptions.$inferSelect;

const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** The invoice as clients see it. */
export function invoiceDto(row: InvoiceRow) {
  return {
    id: row.id,
    number: row.number,
    subscriptionId: row.subscriptionId,
    userId: row.userId,
    status: row.status,
    amountMinor: row.amountMinor,
    currency: row.currency,
    periodStart: row.periodStart.toISOString(),
    periodEnd: row.periodEnd.toISOString(),
    description: row.description,
    paidAt: iso(row.paidAt),
    createdAt: row.createdAt.toISOString(),
  };
}
export type InvoiceDto = ReturnType<typeof invoiceDto>;

/** A payment attempt as clients see it (no idempotency key: it is ours). */
export function paymentDto(row: PaymentRow) {
  return {
    id: row.id,
    invoiceId: row.invoiceId,
    status: row.status,
    amountMinor: row.amountMinor,
    currency: row.currency,
    provider: row.provider,
    providerPaymentId: row.providerPaymentId,
    failureCode: row.failureCode,
    failureMessage: row.failureMessage,
    createdAt: row.createdAt.toISOString(),
  };
}
export type PaymentDto = ReturnType<typeof paymentDto>;

/** One subscription with its service and instance, as lists and details select it. */
export const subscriptionSelection = {
  subscription: getTableColumns(subscriptions),
  service: { id: serviceCatalog.id, slug: serviceCatalog.slug, name: serviceCatalog.name },
  instance: { id: serviceInstances.id, status: serviceInstances.status, url: serviceInstances.url },
};

export interface SubscriptionJoinRow {
  subscription: SubscriptionRow;
  service: { id: string; slug: string; name: string };
  instance: { id: string; status: string; url: string } | null;
}

export function subscriptionDto(row: SubscriptionJoinRow) {
  const s = row.subscription;
  return {
    id: s.id,
    userId: s.userId,
    status: s.status,
    service: row.service,
    autoRenew: s.autoRenew,
    cardOnFile: s.cardOnFile,
    currentPeriodStart: s.currentPeriodStart.toISOString(),
    currentPeriodEnd: s.currentPeriodEnd.toISOString(),
    cancelAtPeriodEnd: s.cancelAtPeriodEnd,
    cancelledAt: iso(s.cancelledAt),
    expiredAt: iso(s.expiredAt),
    purgedAt: iso(s.purgedAt),
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    instance: row.instance,
  };
}
export type SubscriptionDto = ReturnType<typeof subscriptionDto>;

export type SubscriptionDetail = SubscriptionDto & {
  latestInvoice: InvoiceDto | null;
  invoices: InvoiceDto[];
};

/** Query for subscriptions joined with their service and (optional) instance. */
export function selectSubscriptions(db: Db) {
  return db
    .select(subscriptionSelection)
    .from(subscriptions)
    .innerJoin(serviceCatalog, eq(serviceCatalog.id, subscriptions.serviceId))
    .leftJoin(serviceInstances, eq(serviceInstances.subscriptionId, subscriptions.id));
}

/** The subscription with its instance summary and its invoices (newest first); null if none. */
export async function loadSubscriptionDetail(
  db: Db,
  id: string,
): Promise<SubscriptionDetail | null> {
  const [row] = await selectSubscriptions(db).where(eq(subscriptions.id, id));
  if (!row) return null;
  const invoiceRows = await db
    .select()
    .from(invoices)
    .where(eq(invoices.subscriptionId, id))
    .orderBy(desc(invoices.createdAt), desc(invoices.id));
  const list = invoiceRows.map(invoiceDto);
  return { ...subscriptionDto(row), latestInvoice: list[0] ?? null, invoices: list };
}
