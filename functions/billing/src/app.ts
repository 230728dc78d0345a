import type { BillingContext } from "@minispod/fn-subscriptions/services";
import { baseApp, type FunctionContext } from "@minispod/shared";
import type { PaymentProvider } from "@minispod/shared/payments";
import type { BillingEnv } from "./env";
import { invoiceRoutes } from "./routes/invoices";
import { paymentWebhookRoutes } from "./routes/payment-webhook";

export interface BillingDeps extends FunctionContext<BillingEnv> {
  /** Injected so tests choose how charges behave; its name tags stored provider events. */
  provider: PaymentProvider;
}

/** The subscription services' view of this function's dependencies. */
export function billingContext(deps: BillingDeps): BillingContext {
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

export function createApp(deps: BillingDeps) {
  const app = baseApp(deps);
  const ctx = billingContext(deps);
  app.route("/api/v1/invoices", invoiceRoutes(deps, ctx));
  app.route("/api/v1/payments", paymentWebhookRoutes(deps, ctx));
  return app;
}
