import {
  type Db,
  type InvoiceStatus,
  invoices,
  payments,
  serviceCatalog,
  subscriptions,
} from "@minispod/db";
import {
  type Actor,
  AppError,
  canReach,
  keyset,
  listOwner,
  type Page,
  type PageQuery,
} from "@minispod/shared";
import { and, asc, eq } from "drizzle-orm";
import { type InvoiceDto, invoiceDto, type PaymentDto, paymentDto } from "./views";

export interface ListInvoicesInput {
  actor: Actor;
  page: PageQuery;
  /** Admins only: one customer's invoices. */
  userId?: string | undefined;
  subscriptionId?: string | undefined;
  status?: InvoiceStatus | undefined;
}

/** Newest first; customers get their own, admins everyone's (or one customer's). */
export async function listInvoices({
  db,
  input,
}: {
  db: Db;
  input: ListInvoicesInput;
}): Promise<Page<InvoiceDto>> {
  const { actor } = input;
  const owner = listOwner(actor, input.userId, "invoices");
  const p = keyset(invoices.createdAt, invoices.id, input.page);
  const rows = await db
    .select()
    .from(invoices)
    .where(
      and(
        owner ? eq(invoices.userId, owner) : undefined,
        input.subscriptionId ? eq(invoices.subscriptionId, input.subscriptionId) : undefined,
        input.status ? eq(invoices.status, input.status) : undefined,
        p.where,
      ),
    )
    .orderBy(...p.orderBy)
    .limit(p.fetch);
  return p.page(rows, invoiceDto);
}

export type InvoiceDetail = InvoiceDto & {
  service: { id: string; slug: string; name: string };
  payments: PaymentDto[];
};

/** The invoice with its service and payment attempts (oldest first); 404 for others' invoices. */
export async function loadInvoice({
  db,
  input,
}: {
  db: Db;
  input: { invoiceId: string; actor: Actor };
}): Promise<InvoiceDetail> {
  const [row] = await db
    .select({
      invoice: invoices,
      service: { id: serviceCatalog.id, slug: serviceCatalog.slug, name: serviceCatalog.name },
    })
    .from(invoices)
    .innerJoin(subscriptions, eq(subscriptions.id, invoices.subscriptionId))
    .innerJoin(serviceCatalog, eq(serviceCatalog.id, subscriptions.serviceId))
    .where(eq(invoices.id, input.invoiceId));
  if (!row || !canReach(input.actor, row.invoice.userId)) {
    throw new AppError("NOT_FOUND", { detail: "No invoice with this id." });
  }
  const attempts = await db
    .select()
    .from(payments)
    .where(eq(payments.invoiceId, row.invoice.id))
    .orderBy(asc(payments.createdAt), asc(payments.id));
  return { ...invoiceDto(row.invoice), service: row.service, payments: attempts.map(paymentDto) };
}
