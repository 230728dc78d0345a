import { type Metrics, perRegistry } from "@minispod/shared";
import { Counter, type Registry } from "prom-client";

/**
 * `minispod_instances_failed_total`: instances this replica recorded as newly
 * FAILED (a provision the cluster refused, that failed or timed out, or a
 * running instance that failed), counted after the transaction that wrote it
 * committed. A counter so alerts can take `increase()` over it across replica
 * restarts; `minispod_instances{status}` stays the gauge of how many are FAILED now.
 *
 * @example
 * countFailures(ctx.metrics, [transition]);
 */
export function countFailures(
  metrics: Metrics | undefined,
  written: readonly { event?: string | undefined }[],
): void {
  if (!metrics) return;
  const failed = written.filter((t) => t.event === "instance.failed").length;
  if (failed > 0) failureCounter(metrics.registry).inc(failed);
}

const failureCounter = perRegistry(
  (registry: Registry) =>
    new Counter({
      name: "minispod_instances_failed_total",
      help: "Instances this replica recorded as newly FAILED (provision refused, failed or timed out; a running one failed).",
      registers: [registry],
    }),
);

/** Declares the counter (at 0) before any failure, so a fresh replica's first one is an increase. */
export function declareInstanceMetrics(metrics: Metrics): void {
  failureCounter(metrics.registry);
}
