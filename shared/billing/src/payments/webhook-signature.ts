import { createHmac, timingSafeEqual } from "node:crypto";

/** Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. */
export const PAYMENT_SIGNATURE_HEADER = "payment-signature";

/** Default window, in seconds, around `now` inside which a signature's timestamp is accepted. */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

function hmacHex(secret: string, timestamp: number, body: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
}

/**
 * The `Payment-Signature` header value for `body` sent at `t` (unix seconds).
 * Several secrets give several `v1` entries, so a sender can sign with the old
 * and the new secret while the receiver rotates.
 *
 * @example
 * const header = signPaymentWebhook(secret, JSON.stringify(event), Math.floor(Date.now() / 1000));
 * await fetch(url, { method: "POST", headers: { "payment-signature": header }, body });
 */
export function signPaymentWebhook(
  secret: string | readonly string[],
  body: string,
  t: number = Math.floor(Date.now() / 1000),
): string {
  const secrets = typeof secret === "string" ? [secret] : secret;
  return [`t=${t}`, ...secrets.map((s) => `v1=${hmacHex(s, t, body)}`)].join(",");
}

export type PaymentWebhookVerification =
  | { ok: true; timestamp: number }
  | { ok: false; reason: "missing" | "malformed" | "stale" | "mismatch" };

export interface VerifyPaymentWebhookOptions {
  /** The raw `Payment-Signature` header. */
  header: string | null | undefined;
  /** The raw request body, exactly as received. */
  body: string;
  /** Accepted secrets (current first); more than one while rotating. */
  secrets: string | readonly string[];
  toleranceSeconds?: number;
  now?: Date;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/**
 * Checks a `Payment-Signature` header: the timestamp must be within the
 * tolerance (either side of `now`, so replays of old callbacks fail) and at
 * least one `v1` must match one secret, compared in constant time.
 *
 * @example
 * const check = verifyPaymentWebhook({ header: c.req.header("payment-signature"), body: raw, secrets: [secret] });
 * if (!check.ok) throw new AppError("INVALID_SIGNATURE");
 */
export function verifyPaymentWebhook(
  options: VerifyPaymentWebhookOptions,
): PaymentWebhookVerification {
  if (!options.header) return { ok: false, reason: "missing" };
  let timestamp: number | undefined;
  const candidates: Buffer[] = [];
  for (const part of options.header.split(",")) {
    const separator = part.indexOf("=");
    if (separator <= 0) return { ok: false, reason: "malformed" };
    const key = part.slice(0, separator).trim();
    const value = part.slice(separator + 1).trim();
    if (key === "t") {
      if (!/^\d{1,12}$/.test(value) || timestamp !== undefined)
        return { ok: false, reason: "malformed" };
      timestamp = Number(value);
    } else if (key === "v1") {
      // Unknown schemes (v0, v2...) are skipped so senders can add them later.
      if (HEX_SHA256.test(value)) candidates.push(Buffer.from(value, "hex"));
    }
  }
  if (timestamp === undefined || candidates.length === 0) return { ok: false, reason: "malformed" };

  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
  if (Math.abs(nowSeconds - timestamp) > tolerance) return { ok: false, reason: "stale" };

  const given = typeof options.secrets === "string" ? [options.secrets] : options.secrets;
  // An empty secret would let anyone sign; treat it as no secret at all.
  const secrets = given.filter((s) => s.length > 0);
  let matched = false;
  // Every pair is compared (no early exit), so timing says nothing about which one matched.
  for (const secret of secrets) {
    const expected = Buffer.from(hmacHex(secret, timestamp, options.body), "hex");
    for (const candidate of candidates) {
      if (timingSafeEqual(expected, candidate)) matched = true;
    }
  }
  return matched ? { ok: true, timestamp } : { ok: false, reason: "mismatch" };
}
