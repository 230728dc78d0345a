/** Billing rules callable from sweeps: `import { reconcilePendingPayments } from "@minispod/fn-billing/services"`. */
export { type InvoiceDetail, type ListInvoicesInput, listInvoices, loadInvoice } from "./invoices";
export {
  handleProviderEvent,
  type ProviderEvent,
  type ProviderEventOutcome,
  providerEventSchema,
} from "./provider-events";
export { type ReconcileResult, reconcilePendingPayments } from "./reconcile";
