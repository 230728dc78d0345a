import { randomUUID } from "node:crypto";
import { type Db, invoiceNumberSeries, invoices, payments } from "@minispod/db";
import { type AnyColumn, and, eq, inArray, type SQL, sql } from "drizzle-orm";

type Invoice = typeof invoices.$inferSelect;
type Payment = typeof payments.$inferSelect;

/** The series an invoice issued at `now` is numbered in: one gapless run per year. */
export function invoiceSeries(now: Date): string {
  return `INV-${now.getUTCFullYear()}`;
}

/** "INV-<year>-<number, at least 6 digits>". */
export function formatInvoiceNumber(series: string, n: number): string {
  return `${series}-${String(n).padStart(6, "0")}`;
}

/**
 * Takes `count` numbers from the series' counter row, in the caller's
 * transaction: the row stays locked until it commits, so numbers are issued
 * in commit order without gaps (a rollback returns them). Returns the first.
 * Take it last, after the subscription and invoice locks (README "Row locks"),
 * and only for invoices that will be inserted.
 *
 * @example
 * const first = await takeInvoiceNumbers(tx, invoiceSeries(now), 3); // 41 -> 41, 42, 43
 */
export async function takeInvoiceNumbers(tx: Db, series: string, count: number): Promise<number> {
  const [row] = await tx
    .insert(invoiceNumberSeries)
    .values({ series, lastNumber: count })
    .onConflictDoUpdate({
      target: invoiceNumberSeries.series,
      set: { lastNumber: sql`${invoiceNumberSeries.lastNumber} + ${count}` },
    })
    .returning({ lastNumber: invoiceNumberSeries.lastNumber });
  return row!.lastNumber - count + 1;
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
  const series = invoiceSeries(now);
  const number = formatInvoiceNumber(series, await takeInvoiceNumbers(tx, series, 1));
  const [row] = await tx
    .insert(invoices)
    .values({ ...rest, number, status: "OPEN" })
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

/**
 * A PENDING payment on any invoice of `subscriptionId` (a column of the outer
 * query, or a value), for `notExists(...)` in the sweeps' claims.
 */
export function pendingPaymentOf(tx: Db, subscriptionId: AnyColumn | SQL | string) {
  return tx
    .select({ one: sql`1` })
    .from(payments)
    .innerJoin(invoices, eq(invoices.id, payments.invoiceId))
    .where(and(eq(invoices.subscriptionId, subscriptionId), eq(payments.status, "PENDING")));
}

/**
 * Each subscription's payment method of its last successful payment: the
 * SUCCEEDED one on its latest PAID invoice (null when that charge named none:
 * the provider's default for the customer).
 *
 * Written so that only two index lookups per subscription can serve it
 * (invoices by subscription and period, payments by invoice), even with stale
 * statistics: a WHERE on payments.status or an ORDER BY created_at LIMIT 1
 * lets the planner walk every successful payment of every customer instead,
 * once per subscription (minutes per batch at 100,000 rows).
 */
export async function lastPaymentMethods(
  tx: Db,
  subscriptionIds: string[],
): Promise<Map<string, string | null>> {
  if (subscriptionIds.length === 0) return new Map();
  const rows = rowsOf<{ subscription_id: string; method: string | null }>(
    await tx.execute(sql`
      select s.id as subscription_id,
        -- The method the customer set (card update) wins over the last one charged.
        coalesce((select sub.payment_method from subscriptions sub where sub.id = s.id),
        (select (array_agg(p.payment_method order by p.created_at desc)
                   filter (where p.status = 'SUCCEEDED'))[1]
         from payments p
         where p.invoice_id = (select i.id from invoices i
                               where i.subscription_id = s.id and i.status = 'PAID'
                               order by i.period_start desc limit 1))) as method
      from unnest(${`{${subscriptionIds.join(",")}}`}::uuid[]) as s(id)`),
  );
  return new Map(rows.map((r) => [r.subscription_id, r.method]));
}

/**
 * A timestamptz column as JSON's date string, the same text as JS `toISOString()`
 * (UTC, milliseconds, "Z"), for event data built inside PostgreSQL.
 */
export function isoText(column: string): SQL {
  return sql.raw(`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);
}

/** Rows of a raw `execute`: postgres.js answers an array, PGlite `{ rows }`. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}
