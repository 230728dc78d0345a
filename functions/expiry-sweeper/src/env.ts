import { billingEnvEntries, dayList } from "@minispod/billing";
import { baseEnvEntries, envField } from "@minispod/shared";
import * as v from "valibot";

export const expirySweeperEnvSchema = v.object({
  ...baseEnvEntries,
  // SUBSCRIPTION_RETENTION_DAYS decides the purge; the rest keeps the billing context whole.
  ...billingEnvEntries,
  /** Reminders before a non-renewing period ends, in days (each sent once per period). */
  EXPIRY_REMINDER_DAYS: dayList("7,3,1"),
  /** Subscriptions claimed per transaction. */
  EXPIRY_SWEEP_BATCH: envField.int(1000, 1, 10_000),
  /** Batches per job and run: bounds one invocation; the next run continues. */
  EXPIRY_SWEEP_MAX_BATCHES: envField.int(10, 1, 1000),
  /**
   * Batches in flight at once within a run, each on its own pooled connection
   * (so at most DATABASE_POOL_MAX help): PostgreSQL spreads them over its cores.
   */
  EXPIRY_SWEEP_CONCURRENCY: envField.int(2, 1, 16),
});
export type ExpirySweeperEnv = v.InferOutput<typeof expirySweeperEnvSchema>;
