import { billingContextOf } from "@minispod/billing";
import { baseApp } from "@minispod/shared";
import type { SubscriptionsDeps } from "./deps";
import { lifecycleRoutes } from "./routes/lifecycle";
import { subscribeRoutes } from "./routes/subscribe";
import { subscriptionRoutes } from "./routes/subscriptions";

export type { SubscriptionsDeps } from "./deps";

export function createApp(deps: SubscriptionsDeps) {
  const app = baseApp(deps);
  const ctx = billingContextOf(deps);
  app.route("/api/v1/subscriptions", subscribeRoutes(deps, ctx));
  app.route("/api/v1/subscriptions", subscriptionRoutes(deps, ctx));
  app.route("/api/v1/subscriptions", lifecycleRoutes(deps, ctx));
  return app;
}
