import { randomUUID } from "node:crypto";
import {
  type CloudEventMessage,
  type EventPublisher,
  type Logger,
  toBinaryHttp,
} from "@minispod/shared";
import { Cron } from "croner";
import type { Destination, Manifests, TriggerSpec } from "./manifests";
import { triggerMatches } from "./manifests";

/** Sends one HTTP request to a hosted function; the runner implements it with `app.request`. */
export type Deliver = (
  destination: Destination,
  headers: Record<string, string>,
  body: string,
) => Promise<Response | undefined>;

export interface LocalBroker extends EventPublisher {
  /** Starts the PingSource schedules. */
  startSchedules(): void;
  /** Fires one PingSource now (tests, `npm run` helpers). */
  firePing(name: string): Promise<number | undefined>;
  /** Resolves when no delivery or retry is pending. */
  idle(): Promise<void>;
  stop(): void;
}

const RETRYABLE = (status: number) => status >= 500 || status === 429 || status === 408;

/**
 * An in-process Knative Broker: routes each event to every Trigger whose
 * filter matches (read from knative/), retries with the Trigger's backoff, and
 * hands what still fails to its dead-letter sink. Publishing returns at once,
 * as a real broker acknowledges before it delivers.
 */
export function createLocalBroker(options: {
  manifests: Manifests;
  deliver: Deliver;
  logger: Logger;
  /** Local runs should not wait minutes between retries. */
  maxBackoffMs?: number;
}): LocalBroker {
  const { manifests, deliver, logger } = options;
  const pending = new Set<Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  const crons: Cron[] = [];
  const maxBackoff = options.maxBackoffMs ?? 30_000;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  async function deliverWithRetry(trigger: TriggerSpec, event: CloudEventMessage): Promise<void> {
    const { headers, body } = toBinaryHttp(event);
    const log = logger.child({ trigger: trigger.name, eventId: event.id, eventType: event.type });
    let lastError = "";
    for (let attempt = 0; attempt <= trigger.delivery.retry; attempt++) {
      if (attempt > 0) {
        const base = trigger.delivery.backoffDelayMs;
        const delay =
          trigger.delivery.backoffPolicy === "linear" ? base * attempt : base * 2 ** (attempt - 1);
        await sleep(Math.min(delay, maxBackoff));
      }
      try {
        const response = await deliver(trigger.subscriber, headers, body);
        if (!response) {
          log.debug(
            { service: trigger.subscriber.service },
            "subscriber not hosted locally; dropped",
          );
          return;
        }
        if (response.ok) return;
        lastError = `HTTP ${response.status}`;
        if (!RETRYABLE(response.status)) break;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
      log.warn({ attempt, error: lastError }, "delivery failed");
    }
    const sink = trigger.delivery.deadLetterSink;
    if (!sink) {
      log.error({ error: lastError }, "delivery failed for good; no dead-letter sink");
      return;
    }
    const dead = toBinaryHttp({
      ...event,
      extensions: {
        ...event.extensions,
        knativeerrordest: `${trigger.subscriber.service}${trigger.subscriber.uri}`,
        knativeerrordata: Buffer.from(lastError).toString("base64"),
      },
    });
    const response = await deliver(sink, dead.headers, dead.body).catch(() => undefined);
    log.error(
      { error: lastError, deadLettered: response?.ok ?? false },
      "delivery failed for good",
    );
  }

  function track(work: Promise<void>) {
    const p = work.catch((error) => logger.error({ err: error }, "broker delivery crashed"));
    const tracked = p.finally(() => pending.delete(tracked));
    pending.add(tracked);
  }

  async function firePing(name: string): Promise<number | undefined> {
    const source = manifests.pingSources.find((p) => p.name === name);
    if (!source) throw new Error(`no PingSource named ${name}`);
    const { headers, body } = toBinaryHttp({
      id: randomUUID(),
      type: "dev.knative.sources.ping",
      source: `/apis/v1/namespaces/minispod/pingsources/${name}`,
      time: new Date().toISOString(),
      data: source.data ? JSON.parse(source.data) : {},
    });
    const response = await deliver(source.sink, headers, body);
    if (response && !response.ok)
      logger.warn({ ping: name, status: response.status }, "scheduled job failed");
    return response?.status;
  }

  return {
    async publish(event) {
      const attrs: Record<string, string | undefined> = {
        type: event.type,
        source: event.source,
        subject: event.subject,
        id: event.id,
        ...event.extensions,
      };
      for (const trigger of manifests.triggers) {
        if (triggerMatches(trigger, attrs)) track(deliverWithRetry(trigger, event));
      }
    },
    startSchedules() {
      for (const source of manifests.pingSources) {
        crons.push(
          new Cron(
            source.schedule,
            { protect: true, ...(source.timezone ? { timezone: source.timezone } : {}) },
            async () => {
              await firePing(source.name).catch((error) =>
                logger.error({ err: error, ping: source.name }, "ping failed"),
              );
            },
          ),
        );
      }
    },
    firePing,
    async idle() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    stop() {
      for (const cron of crons) cron.stop();
      for (const timer of timers) clearTimeout(timer);
    },
  };
}
