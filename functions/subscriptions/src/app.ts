import { baseApp, type FunctionContext } from "@minispod/shared";
import type { PaymentProvider } from "@minispod/shared/payments";
import type { SubscriptionsEnv } from "./env";
import { lifecycleRoutes } from "./routes/lifecycle";
import { subscribeRoutes } from "./routes/subscribe";
import { subscriptionRoutes } from "./routes/subscriptions";
import type { BillingContext } from "./services/context";

export interface SubscriptionsDeps extends FunctionContext<SubscriptionsEnv> {
  /** Injected so tests choose how charges behave. */
  provider: PaymentProvider;
}

/** The services' view of this function's dependencies. */
export function billingContext(deps: SubscriptionsDeps): BillingContext {
  return {
    db: deps.db,
    now: deps.now,
    logger: deps.logger,
    events: deps.events,
    provider: deps.provider,
    source: deps.name,
    settings: {
      namespacePrefix: deps.env.K8S_NAMESPACE_PREFIX,
      clusterDomain: deps.env.K8S_CLUSTER_DOMAIN,
      retentionDays: deps.env.SUBSCRIPTION_RETENTION_DAYS,
    },
  };
}

export function createApp(deps: SubscriptionsDeps) {
  const app = baseApp(deps);
  const ctx = billingContext(deps);
  app.route("/api/v1/subscriptions", subscribeRoutes(deps, ctx));
  app.route("/api/v1/subscriptions", subscriptionRoutes(deps, ctx));
  app.route("/api/v1/subscriptions", lifecycleRoutes(deps, ctx));
  return app;
}
