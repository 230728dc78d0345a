import { randomUUID } from "node:crypto";
import {
  type ChargeRequest,
  type ChargeResult,
  type PaymentProvider,
  PaymentProviderError,
} from "./port";
import { signPaymentWebhook } from "./webhook-signature";

/** Test payment methods the sandbox understands (see README.md, "Sandbox"). */
export const SANDBOX_PAYMENT_METHODS = {
  /** Succeeds. The default when no method is given. */
  ok: "pm_sandbox_ok",
  /** Succeeds once: the provider keeps no method to charge later (`reusable: false`). */
  once: "pm_sandbox_once",
  /** Declined with `card_declined`. */
  declined: "pm_sandbox_declined",
  /** Declined with `insufficient_funds`. */
  insufficientFunds: "pm_sandbox_insufficient_funds",
  /** Throws a retryable PaymentProviderError and charges nothing: outcome unknown to the caller. */
  error: "pm_sandbox_error",
  /** Charges, then throws as if the answer was lost: `findCharge` later reports the success. */
  timeoutAfterCharge: "pm_sandbox_timeout_after_charge",
} as const;

const DECLINES: Record<string, { code: string; message: string }> = {
  [SANDBOX_PAYMENT_METHODS.declined]: { code: "card_declined", message: "The card was declined." },
  [SANDBOX_PAYMENT_METHODS.insufficientFunds]: {
    code: "insufficient_funds",
    message: "The card has insufficient funds.",
  },
};

export interface SandboxCharge {
  request: ChargeRequest;
  result: ChargeResult;
  createdAt: Date;
}

export interface SandboxWebhook {
  body: string;
  headers: Record<string, string>;
}

export interface SandboxPaymentProvider extends PaymentProvider {
  /** Every charge the sandbox made, one per idempotency key, oldest first. */
  readonly charges: readonly SandboxCharge[];
  /**
   * The signed callback the provider would POST for a remembered charge, in
   * the shape `POST /api/v1/payments/webhook` reads; null for an unknown key.
   */
  webhookFor(
    idempotencyKey: string,
    options: { secret: string; eventId?: string; now?: Date },
  ): SandboxWebhook | null;
}

export interface SandboxOptions {
  /** Stored in payments.provider; "sandbox" unless several sandboxes must be told apart. */
  name?: string;
  /** Simulated network time per charge, in milliseconds. */
  latencyMs?: number;
  now?: () => Date;
}

/**
 * A payment provider that lives in memory: the local default, and the
 * provider tests steer with the test payment methods above. Like a real
 * provider it dedupes on the idempotency key: the same key returns the first
 * result and never charges twice, and `findCharge` answers for reconciliation.
 *
 * @example
 * const provider = sandboxPaymentProvider();
 * await provider.charge({ idempotencyKey: "pay_1", amountMinor: 900, currency: "EUR", customerId, description: "Gitea" });
 * await provider.charge({ ...request, paymentMethod: "pm_sandbox_declined" }); // { status: "declined", code: "card_declined" }
 */
export function sandboxPaymentProvider(options: SandboxOptions = {}): SandboxPaymentProvider {
  const name = options.name ?? "sandbox";
  const now = options.now ?? (() => new Date());
  const byKey = new Map<string, SandboxCharge>();
  // Concurrent calls with one key share the first call's work, as a provider's lock would.
  const inFlight = new Map<string, Promise<ChargeResult>>();
  const charges: SandboxCharge[] = [];

  const sameRequest = (a: ChargeRequest, b: ChargeRequest) =>
    a.amountMinor === b.amountMinor && a.currency === b.currency && a.customerId === b.customerId;

  async function settle(request: ChargeRequest): Promise<ChargeResult> {
    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
    const method = request.paymentMethod ?? SANDBOX_PAYMENT_METHODS.ok;
    if (method === SANDBOX_PAYMENT_METHODS.error) {
      throw new PaymentProviderError("sandbox: simulated provider failure (nothing charged)", true);
    }
    const decline = DECLINES[method];
    const known =
      method === SANDBOX_PAYMENT_METHODS.ok ||
      method === SANDBOX_PAYMENT_METHODS.once ||
      method === SANDBOX_PAYMENT_METHODS.timeoutAfterCharge;
    const providerPaymentId = `sbx_ch_${randomUUID().replaceAll("-", "")}`;
    const result: ChargeResult = decline
      ? { status: "declined", providerPaymentId, ...decline }
      : known
        ? method === SANDBOX_PAYMENT_METHODS.once
          ? { status: "succeeded", providerPaymentId, reusable: false }
          : { status: "succeeded", providerPaymentId }
        : {
            status: "declined",
            providerPaymentId,
            code: "invalid_payment_method",
            message: `Unknown sandbox payment method "${method}".`,
          };
    const charge: SandboxCharge = { request, result, createdAt: now() };
    byKey.set(request.idempotencyKey, charge);
    charges.push(charge);
    if (method === SANDBOX_PAYMENT_METHODS.timeoutAfterCharge) {
      throw new PaymentProviderError("sandbox: simulated timeout after the charge was made", true);
    }
    return result;
  }

  return {
    name,
    charges,
    async charge(request) {
      const previous = byKey.get(request.idempotencyKey);
      if (previous) {
        if (!sameRequest(previous.request, request)) {
          throw new PaymentProviderError(
            "sandbox: idempotency key reused with a different amount, currency or customer",
            false,
          );
        }
        return previous.result;
      }
      const running = inFlight.get(request.idempotencyKey);
      if (running) return running;
      const attempt = settle(request).finally(() => inFlight.delete(request.idempotencyKey));
      inFlight.set(request.idempotencyKey, attempt);
      return attempt;
    },
    async attachPaymentMethod(request) {
      if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
      if (request.paymentMethod === SANDBOX_PAYMENT_METHODS.error) {
        throw new PaymentProviderError("sandbox: simulated provider failure (nothing kept)", true);
      }
      // Every test method can be kept (a declining card is only found out at the charge);
      // `once` cannot, as the provider keeps nothing of it.
      const known = (Object.values(SANDBOX_PAYMENT_METHODS) as string[]).includes(
        request.paymentMethod,
      );
      if (!known || request.paymentMethod === SANDBOX_PAYMENT_METHODS.once) {
        return {
          status: "rejected",
          code: "invalid_payment_method",
          message: known
            ? "This payment method cannot be kept for later charges."
            : `Unknown sandbox payment method "${request.paymentMethod}".`,
        };
      }
      return { status: "attached" };
    },
    async findCharge(idempotencyKey) {
      const charge = byKey.get(idempotencyKey);
      if (!charge) return null;
      return {
        ...charge.result,
        amountMinor: charge.request.amountMinor,
        currency: charge.request.currency,
      };
    },
    webhookFor(idempotencyKey, webhook) {
      const charge = byKey.get(idempotencyKey);
      if (!charge) return null;
      const { result } = charge;
      const body = JSON.stringify({
        id: webhook.eventId ?? `evt_sbx_${randomUUID().replaceAll("-", "")}`,
        type: result.status === "succeeded" ? "charge.succeeded" : "charge.failed",
        created: Math.floor(charge.createdAt.getTime() / 1000),
        data: {
          idempotencyKey,
          providerPaymentId: result.providerPaymentId,
          amountMinor: charge.request.amountMinor,
          currency: charge.request.currency,
          ...(result.status === "declined"
            ? { failureCode: result.code, failureMessage: result.message }
            : result.reusable === false
              ? { reusable: false }
              : {}),
        },
      });
      const t = Math.floor((webhook.now ?? now()).getTime() / 1000);
      return {
        body,
        headers: {
          "content-type": "application/json",
          "payment-signature": signPaymentWebhook(webhook.secret, body, t),
        },
      };
    },
  };
}
