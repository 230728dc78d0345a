import { type Db, localBrokerDeliveries as queue } from "@minispod/db";
import { perRegistry } from "@minispod/shared";
import { count, min } from "drizzle-orm";
import { Counter, Gauge, type Registry } from "prom-client";

/** The broker's counters, in the registry of whoever hosts it. */
export interface BrokerMetrics {
  /** Events accepted, and whether any Trigger matched them. */
  accepted: Counter<"routed">;
  /** Delivery attempts by Trigger and outcome (delivered, retried, dead_lettered, dropped). */
  deliveries: Counter<"trigger" | "outcome">;
  /** Events handed to a dead-letter sink, by whether the sink took them. */
  deadLetters: Counter<"trigger" | "outcome">;
  /** PingSource events sent, by whether the job answered 2xx. */
  pings: Counter<"ping" | "outcome">;
}

/**
 * The broker's metrics in `registry` (made once per registry), plus the depth
 * and age of its queue, read from the database at scrape time.
 *
 * @example
 * const broker = createBroker({ ..., metrics: brokerMetrics(registry, db) });
 */
export const brokerMetrics = perRegistry((registry: Registry, db: Db): BrokerMetrics => {
  const registers = [registry];
  const read = async () => {
    const [row] = await db.select({ n: count(), oldest: min(queue.createdAt) }).from(queue);
    return {
      depth: row?.n ?? 0,
      ageSeconds: row?.oldest ? (Date.now() - row.oldest.getTime()) / 1000 : 0,
    };
  };
  new Gauge({
    name: "minispod_broker_queue_depth",
    help: "Deliveries waiting in the broker's queue (first attempts, retries in backoff, in flight).",
    registers,
    async collect() {
      this.set((await read()).depth);
    },
  });
  new Gauge({
    name: "minispod_broker_queue_oldest_age_seconds",
    help: "Age of the oldest delivery still in the broker's queue (0 when empty).",
    registers,
    async collect() {
      this.set((await read()).ageSeconds);
    },
  });
  return {
    accepted: new Counter({
      name: "minispod_broker_events_accepted_total",
      help: "CloudEvents the broker accepted, by whether any Trigger matched (routed yes/no).",
      labelNames: ["routed"],
      registers,
    }),
    deliveries: new Counter({
      name: "minispod_broker_deliveries_total",
      help: "Delivery attempts by Trigger and outcome (delivered, retried, dead_lettered, dropped).",
      labelNames: ["trigger", "outcome"],
      registers,
    }),
    deadLetters: new Counter({
      name: "minispod_broker_dead_letters_total",
      help: "Events handed to a Trigger's dead-letter sink, by whether the sink took them (sent/failed).",
      labelNames: ["trigger", "outcome"],
      registers,
    }),
    pings: new Counter({
      name: "minispod_broker_pings_total",
      help: "PingSource events sent, by PingSource and outcome (sent/failed).",
      labelNames: ["ping", "outcome"],
      registers,
    }),
  };
});
