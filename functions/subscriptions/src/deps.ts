import type { PaymentProvider } from "@minispod/billing/payments";
import type { FunctionContext } from "@minispod/shared";
import type { SubscriptionsEnv } from "./env";

/** What the function is built from: `main.ts` makes it once, tests make their own. */
export interface SubscriptionsDeps extends FunctionContext<SubscriptionsEnv> {
  /** Injected so tests choose how charges behave. */
  provider: PaymentProvider;
}
