import { Counter, type Registry } from "prom-client";
import { type Metrics, perRegistry } from "../metrics";
import { shortType } from "./catalogue";

/** What a consumer made of one delivery; `rejected` = answered 4xx (never retried), `failed` = 5xx (retried). */
export type ConsumeLabel = "processed" | "duplicate" | "ignored" | "rejected" | "failed";

/**
 * Event counters of a function, in its own registry. Counted in process (each
 * replica counts what it did; Prometheus sums across `function` labels), so
 * every publish and every delivery is counted exactly once by whoever did it.
 */
export interface EventMetrics {
  /** Events handed to the broker, by short type (`user.registered`). */
  published: Counter<"type">;
  /** Deliveries a consumer answered, by short type, consumer and outcome. */
  consumed: Counter<"type" | "consumer" | "outcome">;
  /** Events the broker gave up on and the dead-letter sink stored, by short type. */
  deadLettered: Counter<"type">;
}

/**
 * The type label of a CloudEvent type: the catalogue's short name, or
 * "unknown" for anything else, so a stray sender cannot grow the series.
 */
export function eventTypeLabel(cloudEventType: string): string {
  return shortType(cloudEventType) ?? "unknown";
}

/**
 * The event counters of `metrics` (made once per registry and declared at
 * once, so `/metrics` names them before the first event).
 *
 * @example
 * eventMetrics(deps.metrics).published.inc({ type: eventTypeLabel(row.type) });
 */
export function eventMetrics(metrics: Metrics): EventMetrics {
  return countersOf(metrics.registry);
}

const countersOf = perRegistry((registry: Registry): EventMetrics => {
  const registers = [registry];
  return {
    published: new Counter({
      name: "minispod_events_published_total",
      help: "Events published to the broker (after their outbox row committed), by type.",
      labelNames: ["type"],
      registers,
    }),
    consumed: new Counter({
      name: "minispod_events_consumed_total",
      help: "Event deliveries answered by a consumer, by type, consumer and outcome (processed, duplicate, ignored, rejected, failed).",
      labelNames: ["type", "consumer", "outcome"],
      registers,
    }),
    deadLettered: new Counter({
      name: "minispod_events_dead_lettered_total",
      help: "Events the broker gave up on and the dead-letter sink stored, by type.",
      labelNames: ["type"],
      registers,
    }),
  };
});

/**
 * Counts one consumer's answers in `minispod_events_consumed_total`, for
 * consumers that answer deliveries themselves (`eventRoutes` uses it).
 *
 * @example
 * const count = consumeCounter(deps.metrics, "provisioner");
 * count(event.type, "processed");
 */
export function consumeCounter(
  metrics: Metrics,
  consumer: string,
): (cloudEventType: string, outcome: ConsumeLabel) => void {
  const { consumed } = eventMetrics(metrics);
  return (cloudEventType, outcome) =>
    consumed.inc({ type: eventTypeLabel(cloudEventType), consumer, outcome });
}
