import { billingContextOf } from "@minispod/billing";
import { baseApp, type FunctionContext } from "@minispod/shared";
import type { PaymentProvider } from "@minispod/shared/payments";
import type { SubscriptionsEnv } from "./env";
import { lifecycleRoutes } from "./routes/lifecycle";
import { subscribeRoutes } from "./routes/subscribe";
import { subscriptionRoutes } from "./routes/subscriptions";

export interface SubscriptionsDeps extends FunctionContext<SubscriptionsEnv> {
  /** Injected so tests choose how charges behave. */
  provider: PaymentProvider;
}

export function createApp(deps: SubscriptionsDeps) {
  const app = baseApp(deps);
  const ctx = billingContextOf(deps);
  app.route("/api/v1/subscriptions", subscribeRoutes(deps, ctx));
  app.route("/api/v1/subscriptions", subscriptionRoutes(deps, ctx));
  app.route("/api/v1/subscriptions", lifecycleRoutes(deps, ctx));
  return app;
}
