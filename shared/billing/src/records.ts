import { randomUUID } from "node:crypto";
import { type Db, invoices, payments } from "@minispod/db";
import { and, eq, inArray, sql } from "drizzle-orm";

type Invoice = typeof invoices.$inferSelect;
type Payment = typeof payments.$inferSelect;

/** "INV-<year>-<number, at least 6 digits>" from the invoice number sequence. */
function invoiceNumber(now: Date) {
  const prefix = `INV-${now.getUTCFullYear()}-`;
  // lpad alone would cut numbers past six digits, hence the greatest().
  return sql<string>`(select ${prefix}::text || lpad(n::text, greatest(6, length(n::text)), '0') from nextval('invoice_number_seq') as n)`;
}

export async function insertInvoice(
  tx: Db,
  values: {
    subscriptionId: string;
    userId: string;
    periodStart: Date;
    periodEnd: Date;
    amountMinor: number;
    currency: string;
    description: string;
    now: Date;
  },
): Promise<Invoice> {
  const { now, ...rest } = values;
  const [row] = await tx
    .insert(invoices)
    .values({ ...rest, number: invoiceNumber(now), status: "OPEN" })
    .returning();
  return row!;
}

/**
 * A PENDING payment attempt for `invoice`, with the idempotency key the
 * provider will see. It must be committed before the charge is sent, so a
 * crash after the charge leaves a row the reconciliation can settle.
 */
export async function insertPendingPayment(
  tx: Db,
  invoice: Invoice,
  options: {
    provider: string;
    paymentMethod: string | null;
    /** The key the provider dedupes on; random unless the caller derives it from its own. */
    idempotencyKey?: string | undefined;
  },
): Promise<Payment> {
  const [row] = await tx
    .insert(payments)
    .values({
      invoiceId: invoice.id,
      userId: invoice.userId,
      amountMinor: invoice.amountMinor,
      currency: invoice.currency,
      status: "PENDING",
      provider: options.provider,
      idempotencyKey: options.idempotencyKey ?? `pay_${randomUUID()}`,
      paymentMethod: options.paymentMethod,
    })
    .returning();
  return row!;
}

/** True while a charge for any invoice of the subscription is unsettled. */
export async function hasPendingPayment(tx: Db, subscriptionId: string): Promise<boolean> {
  const rows = await tx
    .select({ id: payments.id })
    .from(payments)
    .where(
      and(
        eq(payments.status, "PENDING"),
        inArray(
          payments.invoiceId,
          tx
            .select({ id: invoices.id })
            .from(invoices)
            .where(eq(invoices.subscriptionId, subscriptionId)),
        ),
      ),
    )
    .limit(1);
  return rows.length > 0;
}

export function describePeriod(serviceName: string, start: Date, end: Date): string {
  const day = (d: Date) => d.toISOString().slice(0, 10);
  return `${serviceName}, ${day(start)} to ${day(end)}`;
}
