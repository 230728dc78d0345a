import { paymentProviderFromEnv } from "@minispod/billing";
import { EnvError, type FunctionDefinition } from "@minispod/shared";
import { createApp } from "./app";
import { type BillingEnv, billingEnvSchema } from "./env";

/** billing: invoices, and payment-provider callbacks (signature verified, processed once). */
export const billingFunction: FunctionDefinition<BillingEnv> = {
  name: "billing",
  routes: ["/api/v1/invoices", "/api/v1/payments"],
  envSchema: billingEnvSchema,
  create(ctx) {
    if (ctx.env.NODE_ENV === "production" && !ctx.env.PAYMENT_WEBHOOK_SECRET?.length) {
      // Unsigned callbacks could mark anything paid: refuse to start rather than accept them.
      throw new EnvError(["PAYMENT_WEBHOOK_SECRET: is required in production"]);
    }
    return createApp({ ...ctx, provider: paymentProviderFromEnv(ctx.env) });
  },
};
