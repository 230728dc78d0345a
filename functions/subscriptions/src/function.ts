import { paymentProviderFromEnv } from "@minispod/billing";
import type { FunctionDefinition } from "@minispod/shared";
import { createApp } from "./app";
import { type SubscriptionsEnv, subscriptionsEnvSchema } from "./env";

/** subscriptions: subscribe (first charge), list, show, cancel, renew, auto-renew. */
export const subscriptionsFunction: FunctionDefinition<SubscriptionsEnv> = {
  name: "subscriptions",
  routes: ["/api/v1/subscriptions"],
  envSchema: subscriptionsEnvSchema,
  create(ctx) {
    return createApp({ ...ctx, provider: paymentProviderFromEnv(ctx.env) });
  },
};
