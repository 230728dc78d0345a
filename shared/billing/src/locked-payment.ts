import type { invoices, payments, subscriptions } from "@minispod/db";
import type { ServiceRef } from "./events";

/**
 * A payment locked for settling, with what its settling touches. Its own module: settling
 * and dunning both take it, and settling calls dunning.
 */
export interface LockedPayment {
  payment: typeof payments.$inferSelect;
  invoice: typeof invoices.$inferSelect;
  subscription: typeof subscriptions.$inferSelect;
  service: ServiceRef;
}
