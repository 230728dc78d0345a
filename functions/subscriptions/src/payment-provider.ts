import { type PaymentProvider, paymentProviderFromConfig } from "@minispod/shared/payments";

/** The variables of `paymentEnvEntries`, parsed. */
export interface PaymentEnv {
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
  return paymentProviderFromConfig({
    gatewayUrl: env.PAYMENT_GATEWAY_URL,
    apiKey: env.PAYMENT_API_KEY,
    timeoutMs: env.PAYMENT_TIMEOUT * 1000,
  });
}
