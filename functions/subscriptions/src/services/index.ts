/**
 * The subscription and billing rules as plain functions, for this function's
 * handlers and for the functions that settle payments (billing) or renew and
 * expire subscriptions (the sweeps): `import { renew } from "@minispod/fn-subscriptions/services"`.
 */
export { lockReachableSubscription, subscriptionNotFound } from "./access";
export { setAutoRenew } from "./auto-renew";
export { cancel } from "./cancel";
export { type ChargeOutcome, sendCharge } from "./charge";
export {
  type Actor,
  type BillingContext,
  type BillingEnvFields,
  type BillingSettings,
  billingContextOf,
  canReach,
  systemActor,
} from "./context";
export { claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey } from "./idempotency";
export { instancePlacement } from "./instance";
export { type ListSubscriptionsInput, listSubscriptions } from "./list";
export { addDays, addMonths } from "./period";
export { type RenewInput, renew } from "./renew";
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
