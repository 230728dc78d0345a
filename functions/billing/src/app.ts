import { billingContextOf } from "@minispod/billing";
import { baseApp } from "@minispod/shared";
import type { BillingDeps } from "./deps";
import { invoiceRoutes } from "./routes/invoices";
import { paymentWebhookRoutes } from "./routes/payment-webhook";

export type { BillingDeps } from "./deps";

export function createApp(deps: BillingDeps) {
  const app = baseApp(deps);
  const ctx = billingContextOf(deps);
  app.route("/api/v1/invoices", invoiceRoutes(deps, ctx));
  app.route("/api/v1/payments", paymentWebhookRoutes(deps, ctx));
  return app;
}
