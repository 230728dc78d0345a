/**
 * The payment provider port. Subscriptions and the billing sweep charge
 * through it; `sandbox` (local default) and `http` (PAYMENT_GATEWAY_URL)
 * implement it.
 */
export interface ChargeRequest {
  /** Stored on the payment row before the charge is sent; the provider dedupes on it. */
  idempotencyKey: string;
  amountMinor: number;
  /** ISO 4217, upper case. */
  currency: string;
  /** Our user id. */
  customerId: string;
  description: string;
  /** Provider's payment method reference; the sandbox reads test methods from it. */
  paymentMethod?: string | undefined;
  metadata?: Record<string, string>;
}

export type ChargeResult =
  | {
      status: "succeeded";
      providerPaymentId: string;
      /**
       * Whether the provider keeps the payment method for later charges made
       * without the customer (absent = true). False for a one-off method (a
       * card the customer did not let us store, a voucher): the subscription
       * then has no card on file and is not renewed automatically.
       */
      reusable?: boolean | undefined;
    }
  | { status: "declined"; providerPaymentId?: string | undefined; code: string; message: string };

/**
 * A charge looked up by key, with what the provider charged when it says so:
 * reconciliation settles nothing whose amount or currency differs from ours.
 */
export type FoundCharge = ChargeResult & { amountMinor?: number; currency?: string };

/**
 * The outcome of a charge is unknown (timeout, 5xx, network): the payment
 * stays PENDING and is reconciled later with the same idempotency key.
 */
export class PaymentProviderError extends Error {
  override name = "PaymentProviderError";
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A payment method the customer hands us, to be kept by the provider for later charges. */
export interface AttachRequest {
  /** Our user id. */
  customerId: string;
  /** The provider's reference for the method (a card token, `pm_sandbox_ok` locally). */
  paymentMethod: string;
}

/** A refusal is a value (an unknown or unusable method); only an unknown outcome throws. */
export type AttachResult =
  | { status: "attached" }
  | { status: "rejected"; code: string; message: string };

export interface PaymentProvider {
  /** Stored in payments.provider. */
  readonly name: string;
  /** Declines are values; only an unknown outcome throws PaymentProviderError. */
  charge(request: ChargeRequest): Promise<ChargeResult>;
  /** Looks a charge up by its idempotency key (reconciliation); null when the provider never saw it. */
  findCharge(idempotencyKey: string): Promise<FoundCharge | null>;
  /**
   * Keeps `paymentMethod` for the customer so later charges without them may
   * use it (the card update). Idempotent: attaching a kept method again is fine.
   */
  attachPaymentMethod(request: AttachRequest): Promise<AttachResult>;
}
