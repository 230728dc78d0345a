import { httpPaymentProvider } from "./http";
import type { PaymentProvider } from "./port";
import { type SandboxPaymentProvider, sandboxPaymentProvider } from "./sandbox";

export {
  type ChargeRequest,
  type ChargeResult,
  type FoundCharge,
  type PaymentProvider,
  PaymentProviderError,
} from "./port";
export {
  SANDBOX_PAYMENT_METHODS,
  type SandboxPaymentProvider,
  sandboxPaymentProvider,
} from "./sandbox";
export {
  PAYMENT_SIGNATURE_HEADER,
  signPaymentWebhook,
  verifyPaymentWebhook,
} from "./webhook-signature";

export interface PaymentProviderConfig {
  /** PAYMENT_GATEWAY_URL: when set, the HTTP provider; when not, the sandbox. */
  gatewayUrl?: string | undefined;
  /** PAYMENT_API_KEY: required with gatewayUrl. */
  apiKey?: string | undefined;
  /** Longest wait for the gateway's answer, retries included (HTTP provider only). */
  timeoutMs?: number | undefined;
}

// The sandbox stands in for one external gateway, so every caller in a process
// (subscriptions and billing in local mode) must see the same charges.
let processSandbox: SandboxPaymentProvider | undefined;

/**
 * The provider the configuration names: the HTTP gateway client when
 * `gatewayUrl` is set, else the process-wide sandbox. Throws when a gateway is
 * named without an API key, so a bad environment fails at start.
 *
 * @example
 * const payments = paymentProviderFromConfig({
 *   gatewayUrl: env.PAYMENT_GATEWAY_URL,
 *   apiKey: env.PAYMENT_API_KEY,
 *   timeoutMs: env.PAYMENT_TIMEOUT * 1000,
 * });
 */
export function paymentProviderFromConfig(config: PaymentProviderConfig = {}): PaymentProvider {
  if (config.gatewayUrl) {
    if (!config.apiKey)
      throw new Error("PAYMENT_API_KEY must be set when PAYMENT_GATEWAY_URL is set");
    return httpPaymentProvider({
      baseUrl: config.gatewayUrl,
      apiKey: config.apiKey,
      ...(config.timeoutMs !== undefined ? { timeoutMs: config.timeoutMs } : {}),
    });
  }
  processSandbox ??= sandboxPaymentProvider();
  return processSandbox;
}
