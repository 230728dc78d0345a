import * as v from "valibot";
import {
  type AttachRequest,
  type AttachResult,
  type ChargeRequest,
  type ChargeResult,
  type FoundCharge,
  type PaymentProvider,
  PaymentProviderError,
} from "./port";

/**
 * A payment gateway spoken to over HTTP with the wire protocol in README.md
 * ("HTTP provider"). Every charge carries its idempotency key, which is what
 * makes retrying a charge after a lost answer safe.
 */
export interface HttpPaymentProviderOptions {
  /** Gateway base URL (PAYMENT_GATEWAY_URL); may include a path prefix. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>` (PAYMENT_API_KEY). Never logged or echoed. */
  apiKey: string;
  /** Longest wait for an answer, retries included. Default 10 000 ms. */
  timeoutMs?: number;
  /** Extra attempts after a retryable failure. Default 2. */
  maxRetries?: number;
  /** First backoff; doubles per retry, with jitter. Default 200 ms. */
  retryDelayMs?: number;
  /** Cap on any single wait, `Retry-After` included. Default 5 000 ms. */
  maxRetryDelayMs?: number;
  /** Stored in payments.provider. Default "http". */
  name?: string;
  fetch?: typeof fetch;
}

const chargeBody = v.looseObject({
  id: v.optional(v.nullable(v.string())),
  status: v.optional(v.nullable(v.string())),
  decline_code: v.optional(v.nullable(v.string())),
  message: v.optional(v.nullable(v.string())),
  amount_minor: v.optional(v.nullable(v.number())),
  currency: v.optional(v.nullable(v.string())),
  /** False when the gateway keeps no method to charge again without the customer. */
  reusable: v.optional(v.nullable(v.boolean())),
});
type ChargeBody = v.InferOutput<typeof chargeBody>;

/** What one attempt ended with: a final answer, or a failure that may be retried. */
type Attempt<T> =
  | { done: true; value: T }
  | { done: false; error: PaymentProviderError; retryAfterMs?: number };

const final = <T>(value: T): Attempt<T> => ({ done: true, value });
const fail = (message: string, retryable: boolean, cause?: unknown): PaymentProviderError =>
  new PaymentProviderError(message, retryable, cause === undefined ? undefined : { cause });

/**
 * @example
 * const provider = httpPaymentProvider({ baseUrl: "https://pay.example.com", apiKey });
 * const result = await provider.charge({ idempotencyKey, amountMinor: 900, currency: "EUR", customerId, description: "Gitea" });
 * if (result.status === "declined") // tell the customer result.message
 */
export function httpPaymentProvider(options: HttpPaymentProviderOptions): PaymentProvider {
  const base = options.baseUrl.endsWith("/") ? options.baseUrl : `${options.baseUrl}/`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxRetries = options.maxRetries ?? 2;
  const retryDelayMs = options.retryDelayMs ?? 200;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 5_000;
  const doFetch = options.fetch ?? fetch;
  const headers = {
    authorization: `Bearer ${options.apiKey}`,
    accept: "application/json",
  };

  /**
   * Runs attempts until one is final, retries run out, or the next wait would
   * pass the deadline. A timeout ends it: the budget is spent.
   */
  async function withRetries<T>(
    what: string,
    attempt: (signal: AbortSignal) => Promise<Attempt<T>>,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (let n = 0; ; n++) {
      const signal = AbortSignal.timeout(Math.max(1, deadline - Date.now()));
      let outcome: Attempt<T>;
      try {
        outcome = await attempt(signal);
      } catch (error) {
        if (signal.aborted) {
          throw fail(
            `${what}: no answer from the payment gateway within ${timeoutMs} ms`,
            true,
            error,
          );
        }
        // Decided by the attempt itself (refusal, unreadable or unfinished charge): not retried here.
        if (error instanceof PaymentProviderError) throw error;
        // fetch rejects only when no HTTP answer arrived (refused, reset, DNS).
        outcome = { done: false, error: fail(`${what}: payment gateway unreachable`, true, error) };
      }
      if (outcome.done) return outcome.value;
      if (!outcome.error.retryable || n >= maxRetries) throw outcome.error;
      const backoff = retryDelayMs * 2 ** n * (0.5 + Math.random() / 2);
      const wait = Math.min(maxRetryDelayMs, Math.max(backoff, outcome.retryAfterMs ?? 0));
      if (Date.now() + wait >= deadline) throw outcome.error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** 5xx, 429 and 409 (the same key still in flight at the gateway) may be retried. */
  async function retryableStatus<T>(
    what: string,
    response: Response,
  ): Promise<Attempt<T> | undefined> {
    const status = response.status;
    if (status < 500 && status !== 429 && status !== 409) return undefined;
    const detail = await problemText(response);
    return {
      done: false,
      error: fail(`${what}: payment gateway answered ${status}${detail}`, true),
      retryAfterMs: retryAfterMs(response.headers.get("retry-after")),
    };
  }

  return {
    name: options.name ?? "http",

    charge(request: ChargeRequest): Promise<ChargeResult> {
      const what = "charge";
      const body = JSON.stringify({
        amount: request.amountMinor,
        currency: request.currency,
        customer: request.customerId,
        description: request.description,
        ...(request.paymentMethod ? { payment_method: request.paymentMethod } : {}),
        ...(request.metadata ? { metadata: request.metadata } : {}),
      });
      return withRetries(what, async (signal) => {
        const response = await doFetch(new URL("v1/charges", base), {
          method: "POST",
          // The same key on every attempt: the gateway answers a retry with the first result.
          headers: {
            ...headers,
            "content-type": "application/json",
            "idempotency-key": request.idempotencyKey,
          },
          body,
          signal,
        });
        if (response.status === 402) {
          const parsed = v.safeParse(chargeBody, await jsonOrUndefined(response));
          return final(declined(parsed.success ? parsed.output : {}));
        }
        const retry = await retryableStatus<ChargeResult>(what, response);
        if (retry) return retry;
        if (!response.ok) {
          throw fail(
            `${what}: payment gateway refused the request (${response.status})${await problemText(response)}`,
            false,
          );
        }
        return final(toResult(what, await readCharge(what, response)));
      });
    },

    attachPaymentMethod(request: AttachRequest): Promise<AttachResult> {
      const what = "attachPaymentMethod";
      const body = JSON.stringify({
        customer: request.customerId,
        payment_method: request.paymentMethod,
      });
      return withRetries(what, async (signal) => {
        const response = await doFetch(new URL("v1/payment_methods/attach", base), {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body,
          signal,
        });
        if (response.status === 402 || response.status === 422) {
          const parsed = v.safeParse(chargeBody, await jsonOrUndefined(response));
          const answer = parsed.success ? parsed.output : {};
          return final<AttachResult>({
            status: "rejected",
            code: answer.decline_code ?? "invalid_payment_method",
            message: answer.message ?? "The payment method was refused.",
          });
        }
        const retry = await retryableStatus<AttachResult>(what, response);
        if (retry) return retry;
        if (!response.ok) {
          throw fail(
            `${what}: payment gateway refused the request (${response.status})${await problemText(response)}`,
            false,
          );
        }
        await response.body?.cancel();
        return final<AttachResult>({ status: "attached" });
      });
    },

    findCharge(idempotencyKey: string): Promise<FoundCharge | null> {
      const what = "findCharge";
      const url = new URL("v1/charges", base);
      url.searchParams.set("idempotency_key", idempotencyKey);
      return withRetries(what, async (signal) => {
        const response = await doFetch(url, { method: "GET", headers, signal });
        if (response.status === 404) {
          await response.body?.cancel();
          return final(null);
        }
        const retry = await retryableStatus<FoundCharge | null>(what, response);
        if (retry) return retry;
        if (!response.ok) {
          throw fail(
            `${what}: payment gateway refused the request (${response.status})${await problemText(response)}`,
            false,
          );
        }
        const charge = await readCharge(what, response);
        return final<FoundCharge>({
          ...toResult(what, charge),
          // What the gateway charged, when it says: reconciliation compares it with ours.
          ...(typeof charge.amount_minor === "number" ? { amountMinor: charge.amount_minor } : {}),
          ...(charge.currency ? { currency: charge.currency.toUpperCase() } : {}),
        });
      });
    },
  };
}

async function jsonOrUndefined(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

/** A 2xx answer the gateway sent: the charge happened in some state, so a bad body is an unknown outcome. */
async function readCharge(
  what: string,
  response: Response,
): Promise<ChargeBody & { id: string; status: string }> {
  const parsed = v.safeParse(chargeBody, await jsonOrUndefined(response));
  if (!parsed.success || !parsed.output.id || !parsed.output.status) {
    throw fail(`${what}: payment gateway sent an unreadable charge (${response.status})`, true);
  }
  return { ...parsed.output, id: parsed.output.id, status: parsed.output.status };
}

function declined(body: ChargeBody): ChargeResult {
  return {
    status: "declined",
    providerPaymentId: body.id ?? undefined,
    code: body.decline_code ?? "declined",
    message: body.message ?? "The payment was declined.",
  };
}

function toResult(what: string, body: ChargeBody & { id: string; status: string }): ChargeResult {
  if (body.status === "succeeded") {
    // Only an explicit `reusable: false` says the method cannot be charged again.
    return body.reusable === false
      ? { status: "succeeded", providerPaymentId: body.id, reusable: false }
      : { status: "succeeded", providerPaymentId: body.id };
  }
  if (body.status === "declined" || body.status === "failed") return declined(body);
  // pending/processing: not final yet; the caller keeps the payment PENDING and reconciles later.
  throw fail(`${what}: charge ${body.id} is ${body.status}, not final yet`, true);
}

/** A short, key-free excerpt of the gateway's error body for the error message. */
async function problemText(response: Response): Promise<string> {
  const body = await jsonOrUndefined(response);
  if (body && typeof body === "object") {
    const { message, error } = body as { message?: unknown; error?: unknown };
    const text =
      typeof message === "string" ? message : typeof error === "string" ? error : undefined;
    if (text) return `: ${text.slice(0, 200)}`;
  }
  return "";
}

/** `Retry-After` in seconds or as an HTTP date -> milliseconds. */
function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
