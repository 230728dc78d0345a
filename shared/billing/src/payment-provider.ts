import { type PaymentProvider, paymentProviderFromConfig } from "@minispod/billing/payments";
import { EnvError } from "@minispod/shared";

/** The variables of `paymentEnvEntries`, parsed, and NODE_ENV. */
export interface PaymentEnv {
  NODE_ENV: "development" | "test" | "production";
  PAYMENT_GATEWAY_URL?: string | undefined;
  PAYMENT_API_KEY?: string | undefined;
  /** Seconds. */
  PAYMENT_TIMEOUT: number;
}

/**
 * The provider the environment names: the HTTP gateway with
 * PAYMENT_GATEWAY_URL, else the process-wide sandbox (shared by subscriptions
 * and billing in local mode, so billing's reconciliation sees the charges).
 */
export function paymentProviderFromEnv(env: PaymentEnv): PaymentProvider {
  if (env.NODE_ENV === "production" && !env.PAYMENT_GATEWAY_URL) {
    // The sandbox approves every charge without moving money: never in production.
    throw new EnvError(["PAYMENT_GATEWAY_URL: is required in production"]);
  }
  try {
    return paymentProviderFromConfig({
      gatewayUrl: env.PAYMENT_GATEWAY_URL,
      apiKey: env.PAYMENT_API_KEY,
      timeoutMs: env.PAYMENT_TIMEOUT * 1000,
    });
  } catch (error) {
    throw new EnvError([error instanceof Error ? error.message : String(error)]);
  }
}
