import type { PaymentProvider } from "@minispod/billing/payments";
import type { FunctionContext } from "@minispod/shared";
import type { BillingEnv } from "./env";

/** What the function is built from: `main.ts` makes it once, tests make their own. */
export interface BillingDeps extends FunctionContext<BillingEnv> {
  /** Injected so tests choose how charges behave; its name tags stored provider events. */
  provider: PaymentProvider;
}
