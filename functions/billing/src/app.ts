import { billingContextOf } from "@minispod/billing";
import { baseApp, type FunctionContext } from "@minispod/shared";
import type { PaymentProvider } from "@minispod/shared/payments";
import type { BillingEnv } from "./env";
import { invoiceRoutes } from "./routes/invoices";
import { paymentWebhookRoutes } from "./routes/payment-webhook";

export interface BillingDeps extends FunctionContext<BillingEnv> {
  /** Injected so tests choose how charges behave; its name tags stored provider events. */
  provider: PaymentProvider;
}

export function createApp(deps: BillingDeps) {
  const app = baseApp(deps);
  const ctx = billingContextOf(deps);
  app.route("/api/v1/invoices", invoiceRoutes(deps, ctx));
  app.route("/api/v1/payments", paymentWebhookRoutes(deps, ctx));
  return app;
}
