import { createHmac, randomBytes } from "node:crypto";

/** Standard Webhooks secrets are "whsec_" + base64 of the raw key. */
export const WEBHOOK_SECRET_PREFIX = "whsec_";

/**
 * A fresh endpoint secret: 32 random bytes (the spec asks for 24 to 64).
 *
 * @example
 * const secret = generateWebhookSecret(); // "whsec_q0f…="
 */
export function generateWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString("base64")}`;
}

/** The raw HMAC key of a "whsec_…" secret. Throws on a secret that is not one. */
export function webhookSecretKey(secret: string): Buffer {
  const encoded = secret.startsWith(WEBHOOK_SECRET_PREFIX)
    ? secret.slice(WEBHOOK_SECRET_PREFIX.length)
    : secret;
  const key = Buffer.from(encoded, "base64");
  if (key.length === 0) throw new Error("webhook secret is empty");
  return key;
}

export interface SignInput {
  /** The `webhook-id` header. */
  id: string;
  /** The `webhook-timestamp` header: unix seconds of this attempt. */
  timestamp: number;
  /** The exact bytes sent as the body. */
  body: string;
  /** Every secret that should sign: the current one, plus the previous during a rotation overlap. */
  secrets: readonly string[];
}

/**
 * The `webhook-signature` header value: one `v1,<base64 HMAC-SHA256>` of
 * "<id>.<timestamp>.<body>" per secret, space-separated. Receivers accept the
 * message if any entry matches a secret they hold, which is what lets a
 * rotation overlap work without coordination.
 *
 * @example
 * signWebhook({ id: "msg_1", timestamp: 1700000000, body: "{}", secrets: [secret] }); // "v1,K5oZ…="
 */
export function signWebhook(input: SignInput): string {
  if (input.secrets.length === 0) throw new Error("signWebhook needs at least one secret");
  const content = `${input.id}.${input.timestamp}.${input.body}`;
  return input.secrets
    .map((secret) => {
      const mac = createHmac("sha256", webhookSecretKey(secret))
        .update(content, "utf8")
        .digest("base64");
      return `v1,${mac}`;
    })
    .join(" ");
}
