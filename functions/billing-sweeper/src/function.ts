import { paymentProviderFromEnv } from "@minispod/billing";
import type { FunctionDefinition } from "@minispod/shared";
import { createApp } from "./app";
import { type BillingSweeperEnv, billingSweeperEnvSchema } from "./env";

/** billing-sweeper: renewals, dunning, reconciliation of lost charges, Idempotency-Key purge. */
export const billingSweeperFunction: FunctionDefinition<BillingSweeperEnv> = {
  name: "billing-sweeper",
  routes: [],
  envSchema: billingSweeperEnvSchema,
  create(ctx) {
    return createApp({ ...ctx, provider: paymentProviderFromEnv(ctx.env) });
  },
};
