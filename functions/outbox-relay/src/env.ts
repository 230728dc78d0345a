import { baseEnvEntries, envField, processedEventsRetentionEntries } from "@minispod/shared";
import * as v from "valibot";

export const outboxRelayEnvSchema = v.object({
  ...baseEnvEntries,
  ...processedEventsRetentionEntries,
  /** Most outbox rows sent per sweep. */
  OUTBOX_RELAY_BATCH: envField.int(200, 1, 5000),
  /** Sends in flight at once (one subject's events still one after another). */
  OUTBOX_RELAY_CONCURRENCY: envField.int(16, 1, 256),
  /** Published outbox rows are kept this long (for inspection), then purged. */
  OUTBOX_RETENTION: envField.duration("7d"),
  /** Batches of 1,000 rows per purge run and table: bounds one invocation; the next run continues. */
  EVENT_PURGE_MAX_BATCHES: envField.int(50, 1, 10_000),
  /**
   * The business gauges' grouped counts (subscriptions, invoices, payments, emails, webhook
   * deliveries, ... by status) are read at most once per this long; "0s" reads them on every
   * scrape. The outbox backlog gauges are always live.
   */
  BUSINESS_METRICS_CACHE: envField.duration("60s"),
});
export type OutboxRelayEnv = v.InferOutput<typeof outboxRelayEnvSchema>;
