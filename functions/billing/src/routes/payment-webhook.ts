import type { BillingContext } from "@minispod/billing";
import { handleProviderEvent, providerEventSchema } from "@minispod/billing";
import { PAYMENT_SIGNATURE_HEADER, verifyPaymentWebhook } from "@minispod/billing/payments";
import { type AppEnv, AppError, describeRoute, parseOrThrow } from "@minispod/shared";
import { Hono } from "hono";
import * as v from "valibot";
import type { BillingDeps } from "../deps";

/**
 * `POST /api/v1/payments/webhook`: the provider's callbacks. No bearer token;
 * the `Payment-Signature` over the raw body is the authentication, checked
 * before the body is even parsed.
 */
export function paymentWebhookRoutes(deps: BillingDeps, ctx: BillingContext) {
  return new Hono<AppEnv>().post("/webhook", callbackNote, async (c) => {
    const secrets = deps.env.PAYMENT_WEBHOOK_SECRET ?? [];
    if (secrets.length === 0) {
      c.get("logger").error("payment callback refused: PAYMENT_WEBHOOK_SECRET is not set");
      // 503 so the provider retries once the operator has set the secret.
      throw new AppError("SERVICE_UNAVAILABLE", {
        detail: "Payment callbacks are not configured.",
      });
    }
    const raw = await c.req.text();
    const check = verifyPaymentWebhook({
      header: c.req.header(PAYMENT_SIGNATURE_HEADER),
      body: raw,
      secrets,
      toleranceSeconds: deps.env.PAYMENT_WEBHOOK_TOLERANCE,
      now: ctx.now(),
    });
    if (!check.ok) {
      c.get("logger").warn({ reason: check.reason }, "payment callback with a bad signature");
      throw new AppError("INVALID_SIGNATURE", {
        detail:
          check.reason === "stale"
            ? "The Payment-Signature timestamp is outside the accepted window."
            : "The Payment-Signature header is missing or does not match the body.",
      });
    }
    let body: unknown;
    try {
      body = withoutNul(JSON.parse(raw));
    } catch {
      throw new AppError("MALFORMED_JSON", { detail: "The request body is not valid JSON." });
    }
    const event = parseOrThrow(providerEventSchema, body, "provider event");
    const outcome = await handleProviderEvent({ ctx, input: { event } });
    c.get("logger").info(
      { providerEventId: event.id, type: event.type, outcome },
      "payment callback handled",
    );
    return c.json({ received: true, outcome });
  });
}

const callbackNote = describeRoute({
  id: "payments.callback",
  summary: "Receive a payment provider's event (signed, processed once)",
  description:
    "Called by the payment provider, not by clients. Authenticated by the `Payment-Signature` header, not a bearer token. A replayed event answers 200 with outcome `duplicate` and changes nothing.",
  body: providerEventSchema,
  response: {
    schema: v.object({
      received: v.literal(true),
      outcome: v.picklist(["processed", "duplicate", "recorded", "unmatched", "mismatch"]),
    }),
  },
  errors: ["INVALID_SIGNATURE", "MALFORMED_JSON", "VALIDATION_FAILED", "SERVICE_UNAVAILABLE"],
  headers: [
    {
      name: "Payment-Signature",
      description:
        '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with the shared PAYMENT_WEBHOOK_SECRET (several v1= during a rotation); t must be within PAYMENT_WEBHOOK_TOLERANCE seconds of now.',
    },
  ],
});

/**
 * PostgreSQL text and jsonb cannot hold U+0000, which JSON may carry as `\u0000`:
 * stored as is, such an event would fail with a 500 on every delivery. It is
 * replaced with U+FFFD, in keys and values alike, before anything is stored, and
 * so is a lone surrogate. The provider's event is replaced rather than refused
 * (the one exception to the edge rule of shared/src/validation.ts): a 400 would
 * lose a payment the provider already took.
 */
function withoutNul(value: unknown): unknown {
  if (typeof value === "string") return value.replaceAll("\u0000", "\uFFFD").toWellFormed();
  if (Array.isArray(value)) return value.map(withoutNul);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k.replaceAll("\u0000", "\uFFFD").toWellFormed(),
        withoutNul(v),
      ]),
    );
  }
  return value;
}
