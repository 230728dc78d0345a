import { billingEnvEntries, paymentEnvEntries } from "@minispod/billing";
import { baseEnvEntries, envField } from "@minispod/shared";
import * as v from "valibot";

export const billingSweeperEnvSchema = v.object({
  ...baseEnvEntries,
  ...billingEnvEntries,
  ...paymentEnvEntries,
  /** Auto-renewing subscriptions are charged this long before their period ends. */
  BILLING_RENEWAL_WINDOW: envField.duration("24h"),
  /** Subscriptions claimed per transaction. */
  BILLING_SWEEP_BATCH: envField.int(200, 1, 5000),
  /** Batches per run: bounds one invocation; the next run continues. */
  BILLING_SWEEP_MAX_BATCHES: envField.int(10, 1, 1000),
  /** Charges in flight at once. */
  BILLING_SWEEP_CONCURRENCY: envField.int(8, 1, 100),
  /**
   * A PENDING payment older than this is asked about at the provider (its
   * outcome was lost); keep it well above PAYMENT_TIMEOUT.
   */
  BILLING_RECONCILE_AFTER: envField.duration("10m"),
  /** Idempotency-Key records are kept this long, then purged. */
  IDEMPOTENCY_KEY_RETENTION: envField.duration("24h"),
});
export type BillingSweeperEnv = v.InferOutput<typeof billingSweeperEnvSchema>;
