import { EnvError, envField } from "@minispod/shared";
import * as v from "valibot";
import type { Manifests } from "./manifests";

/** What the broker service reads (scripts/src/broker/main.ts). */
export const brokerEnvSchema = v.object({
  PORT: envField.port(8080),
  LOG_LEVEL: envField.logLevel(),
  /** Where the queue lives: the same database as the outbox (table local_broker_deliveries). */
  DATABASE_URL: envField.databaseUrl(),
  DATABASE_POOL_MAX: envField.int(5, 1, 100),
  DATABASE_PREPARE: envField.bool(true),
  /**
   * The dev-only migrations (db/migrations-dev: this queue's table), applied on
   * start after the production set the migrate Job applied; the image carries them.
   */
  MIGRATIONS_DEV_DIR: v.optional(v.string()),
  METRICS_ENABLED: envField.bool(true),
  /** The manifests whose Triggers and PingSources it follows; the image carries knative/base there. */
  BROKER_KNATIVE_DIR: v.optional(v.string(), "knative"),
  /**
   * A subscriber's URL from its Knative Service name, `{service}` replaced:
   * `http://{service}:8080` is how compose names them. One service's own
   * BROKER_SUBSCRIBER_<NAME>_URL (name upper-cased, `-` as `_`) wins.
   */
  BROKER_SUBSCRIBER_URL_TEMPLATE: v.optional(
    v.pipe(v.string(), v.includes("{service}", "must contain {service}")),
    "http://{service}:8080",
  ),
  /** Longest wait for a subscriber's answer; the attempt then counts as failed and is retried. */
  BROKER_DELIVERY_TIMEOUT_MS: envField.int(60_000, 100, 900_000),
  /** Caps each Trigger's backoff (0 = the Trigger's policy as written, as Knative does). */
  BROKER_MAX_BACKOFF_MS: envField.int(0, 0, 86_400_000),
  /** Fire the PingSources (cron sweeps). One broker replica only should. */
  BROKER_PING_SCHEDULES: envField.bool(true),
  BODY_LIMIT_BYTES: envField.int(1024 * 1024, 1024, 50 * 1024 * 1024),
});
export type BrokerEnv = v.InferOutput<typeof brokerEnvSchema>;

/** BROKER_SUBSCRIBER_<NAME>_URL of a Knative Service name. */
export function subscriberVariable(service: string): string {
  return `BROKER_SUBSCRIBER_${service.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_URL`;
}

/**
 * The base URL of every Knative Service a Trigger or PingSource names, from
 * its own variable or the template. A bad URL is an EnvError naming it.
 *
 * @example
 * subscriberUrls(manifests, "http://{service}:8080", process.env).get("notifier") // "http://notifier:8080"
 */
export function subscriberUrls(
  manifests: Manifests,
  template: string,
  source: Record<string, string | undefined>,
): Map<string, string> {
  const services = new Set<string>();
  for (const trigger of manifests.triggers) {
    services.add(trigger.subscriber.service);
    if (trigger.delivery.deadLetterSink) services.add(trigger.delivery.deadLetterSink.service);
  }
  for (const ping of manifests.pingSources) services.add(ping.sink.service);
  const urls = new Map<string, string>();
  const problems: string[] = [];
  for (const service of [...services].sort()) {
    const variable = subscriberVariable(service);
    const own = source[variable];
    const url = (own || template.replaceAll("{service}", service)).replace(/\/+$/, "");
    if (URL.canParse(url) && /^https?:$/.test(new URL(url).protocol)) urls.set(service, url);
    else
      problems.push(
        `${own ? variable : "BROKER_SUBSCRIBER_URL_TEMPLATE"}: "${url}" is not an http(s) URL`,
      );
  }
  if (problems.length > 0) throw new EnvError(problems);
  return urls;
}
