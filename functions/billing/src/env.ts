import { billingEnvEntries, paymentEnvEntries } from "@minispod/billing";
import { baseEnvEntries, envField } from "@minispod/shared";
import * as v from "valibot";

export const billingEnvSchema = v.object({
  ...baseEnvEntries,
  // Settling a first charge (callback or reconciliation) activates the subscription
  // and places its instance, exactly as the subscriptions function would.
  ...billingEnvEntries,
  ...paymentEnvEntries,
  /**
   * Secret(s) for `Payment-Signature`: comma-separated, the current one first,
   * then any being rotated out. Required in production.
   */
  PAYMENT_WEBHOOK_SECRET: v.optional(
    v.pipe(
      envField.list(),
      v.check(
        (secrets) => secrets.every((s) => s.length >= 16),
        "each secret must be at least 16 characters",
      ),
    ),
  ),
  /** Accepted age (either way) of a callback's signed timestamp. */
  PAYMENT_WEBHOOK_TOLERANCE: envField.duration("300"),
});
export type BillingEnv = v.InferOutput<typeof billingEnvSchema>;
