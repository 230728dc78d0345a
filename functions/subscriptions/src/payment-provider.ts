import type { PaymentProvider } from "@minispod/shared/payments/port";
import { sandboxPaymentProvider } from "@minispod/shared/payments/sandbox";

/** The variables of `paymentEnvEntries`, parsed. */
export interface PaymentEnv {
  PAYMENT_GATEWAY_URL?: string | undefined;
  PAYMENT_API_KEY?: string | undefined;
  /** Seconds. */
  PAYMENT_TIMEOUT: number;
}

let processSandbox: PaymentProvider | undefined;

/**
 * The provider the environment names. Without PAYMENT_GATEWAY_URL it is the
 * sandbox, one per process: in local mode subscriptions and billing then share
 * it, so billing's reconciliation sees the charges subscriptions made.
 */
export function paymentProviderFromEnv(env: PaymentEnv): PaymentProvider {
  if (env.PAYMENT_GATEWAY_URL) {
    // Failing at start beats silently charging nobody through the sandbox.
    throw new Error(
      "PAYMENT_GATEWAY_URL is set, but this build has no HTTP payment provider (shared/src/payments/index.ts) yet",
    );
  }
  processSandbox ??= sandboxPaymentProvider();
  return processSandbox;
}
