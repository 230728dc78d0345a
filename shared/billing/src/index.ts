/**
 * The billing domain as plain services: subscribe, renew, cancel, settle,
 * reconcile, invoices, and the sweeps' set-based renewals and expiry. Any
 * function may call them (a function never imports another function):
 *
 * @example
 * import { billingContextOf, renew } from "@minispod/billing";
 * const ctx = billingContextOf({ ...deps, provider });
 * await renew({ ctx, input: { subscriptionId, actor: systemActor } });
 */

export { lockReachableSubscription, subscriptionNotFound } from "./access";
export {
  cancellationSchema,
  invoiceDetailSchema,
  invoiceSchema,
  paymentMethodResultSchema,
  paymentSchema,
  subscriptionDetailSchema,
  subscriptionSchema,
} from "./api-schemas";
export { setAutoRenew } from "./auto-renew";
export {
  instancesByStatus,
  mrrByCurrency,
  registerBusinessMetrics,
  subscriptionsByStatus,
} from "./business-metrics";
export { type Cancellation, type CancelResult, cancel, undoCancel } from "./cancel";
export {
  type ChargeOutcome,
  isUnsettledConflict,
  sendCharge,
  unknownOutcomeError,
  unsettledConflict,
} from "./charge";
export {
  type Actor,
  type BillingContext,
  type BillingEnvFields,
  type BillingSettings,
  billingContextOf,
  billingSettingsOf,
  canReach,
  systemActor,
} from "./context";
export {
  applyDunning,
  isScheduledRenewal,
  RENEWAL_KEY_PREFIX,
  renewalKey,
} from "./dunning";
export { billingEnvEntries, dayList, instanceEnvEntries, paymentEnvEntries } from "./env";
export {
  invoicePaidData,
  paymentEventData,
  type ServiceRef,
  subscriptionEventData,
} from "./events";
export {
  expireEndedSubscriptions,
  purgeDueClaim,
  purgeExpiredSubscriptions,
  type SweepBatchOptions,
  type SweepStepResult,
  sendExpiryReminders,
} from "./expiry";
export {
  claimIdempotencyKey,
  completeIdempotencyKey,
  type IdempotencyClaim,
  purgeIdempotencyKeys,
  releaseIdempotencyKey,
} from "./idempotency";
export {
  type IdempotentRequestOptions,
  type IdempotentResult,
  idempotentRequest,
} from "./idempotent-request";
export { type InvoiceDetail, type ListInvoicesInput, listInvoices, loadInvoice } from "./invoices";
export { type ListSubscriptionsInput, listSubscriptions } from "./list";
export {
  type ChargeOutcomeLabel,
  paymentMetrics,
  type SettledStatusLabel,
  type SweepMetrics,
  sweepMetrics,
} from "./metrics";
export {
  type OverdueRetry,
  type PaymentMethodResult,
  updatePaymentMethod,
} from "./payment-method";
export { type PaymentEnv, paymentProviderFromEnv } from "./payment-provider";
export { addDays, addMonths } from "./period";
export {
  handleProviderEvent,
  type ProviderEvent,
  type ProviderEventOutcome,
  providerEventSchema,
} from "./provider-events";
export { publishWritten } from "./publish";
export { type ReconcileResult, reconcilePendingPayments } from "./reconcile";
export { type RenewInput, renew } from "./renew";
export {
  claimDueRenewals,
  type RenewalSweepOptions,
  type RenewalSweepResult,
  renewDueSubscriptions,
} from "./renewal-sweep";
export {
  type SettleInput,
  type SettleResult,
  settleCharge,
  settleChargeInTransaction,
} from "./settle";
export { type SubscribeInput, subscribe } from "./subscribe";
export {
  type InvoiceDto,
  invoiceDto,
  loadSubscriptionDetail,
  type PaymentDto,
  paymentDto,
  type SubscriptionDetail,
  type SubscriptionDto,
  subscriptionDto,
} from "./views";
