import { perRegistry } from "@minispod/shared";
import { Counter, Histogram, type Registry } from "prom-client";

export type AttemptOutcomeLabel = "succeeded" | "failed" | "gone" | "refused";

/** Webhook attempt metrics for operators: how many, how they ended, how long they took. */
export interface WebhookMetrics {
  attempts: Counter<"outcome">;
  duration: Histogram<"outcome">;
  disabled: Counter<"reason">;
  /**
   * Deliveries this replica brought to a final status (SUCCEEDED, or FAILED:
   * retries exhausted, 410 Gone, a failed test ping, closed unsent for a
   * disabled endpoint). The failure-rate alert reads this counter;
   * `minispod_webhook_deliveries{status}` stays the gauge of how many are in each.
   */
  finished: Counter<"status">;
}

/** The webhook metrics of a function's registry, made once (configs are built per request). */
export const webhookMetrics = perRegistry(
  (registry: Registry): WebhookMetrics => ({
    attempts: new Counter({
      name: "webhook_delivery_attempts_total",
      help: "Webhook delivery attempts, by outcome (refused = stopped by the SSRF guard).",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    duration: new Histogram({
      name: "webhook_delivery_attempt_duration_seconds",
      help: "Time from the start of a webhook attempt to its answer or failure.",
      labelNames: ["outcome"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    disabled: new Counter({
      name: "webhook_endpoints_disabled_total",
      help: "Endpoints disabled by the system, by reason.",
      labelNames: ["reason"],
      registers: [registry],
    }),
    finished: zeroed(
      new Counter({
        name: "minispod_webhook_deliveries_finished_total",
        help: "Webhook deliveries brought to a final status by this replica (SUCCEEDED, FAILED).",
        labelNames: ["status"],
        registers: [registry],
      }),
    ),
  }),
);

/** Both final statuses from the first scrape, so a fresh replica's first failure shows as an increase. */
function zeroed(counter: Counter<"status">): Counter<"status"> {
  for (const status of ["SUCCEEDED", "FAILED"]) counter.inc({ status }, 0);
  return counter;
}
