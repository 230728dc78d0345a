import { randomUUID } from "node:crypto";
import { type Db, localBrokerDeliveries as queue } from "@minispod/db";
import {
  type CloudEventMessage,
  type EventPublisher,
  type Logger,
  toBinaryHttp,
} from "@minispod/shared";
import { asc, eq, inArray, lte, min, sql } from "drizzle-orm";
import type { Destination, Manifests, TriggerSpec } from "./manifests";
import { triggerMatches } from "./manifests";
import type { BrokerMetrics } from "./metrics";
import { type Clock, schedulePing, systemClock } from "./schedule";

/**
 * Sends one HTTP request to a subscriber. The local runner implements it with
 * `app.request` (undefined: no such function hosted, the delivery is dropped);
 * the broker service with `fetch` to the subscriber's URL.
 */
export type Deliver = (
  destination: Destination,
  headers: Record<string, string>,
  body: string,
) => Promise<Response | undefined>;

export interface Broker extends EventPublisher {
  /**
   * Starts delivering: what a previous run left in the queue first (claims of
   * a killed process are released), then whatever is published.
   */
  start(): Promise<void>;
  /** Starts the PingSource schedules. */
  startSchedules(): void;
  /** Fires one PingSource now (tests, `npm run` helpers). */
  firePing(name: string): Promise<number | undefined>;
  /** Resolves when the queue is empty: every delivery done, retried out or dead-lettered. */
  idle(): Promise<void>;
  /** Stops the schedules and the delivery loop; resolves when the current round has finished. */
  stop(): Promise<void>;
}

const RETRYABLE = (status: number) => status >= 500 || status === 429 || status === 408;
/** Rows delivered per round, in parallel. */
const BATCH = 32;
/** How long a claimed row stays invisible while its delivery runs, by default. */
const LEASE_MS = 60_000;

/**
 * What the Knative Broker does for minispod, in one module: the local runner
 * hosts it in-process, the broker service (./service.ts) behind HTTP. It routes
 * each event to every Trigger whose filter matches (read from knative/),
 * retries with the Trigger's backoff, hands what still fails to its
 * dead-letter sink, and fires the PingSources on their schedules.
 *
 * Like the cluster's broker it acknowledges a publish only once the event is
 * durable: `publish` writes one row per matching Trigger to
 * `local_broker_deliveries` (in the same database as the outbox) before the
 * outbox marks the event published, and a row goes only when its subscriber
 * has answered. A crash at any point leaves either an unpublished outbox row
 * or a queued delivery, and the next start delivers it; consumers deduplicate
 * the rare second copy by (source, id).
 */
export function createBroker(options: {
  manifests: Manifests;
  deliver: Deliver;
  logger: Logger;
  db: Db;
  /** Caps the Trigger's backoff (local runs should not wait minutes); none by default, as in Knative. */
  maxBackoffMs?: number;
  /**
   * How long a claimed row stays invisible while its delivery runs: longer
   * than the longest delivery, or a slow one is sent twice.
   */
  leaseMs?: number;
  /** Counts deliveries, dead letters and pings; absent, nothing is counted. */
  metrics?: BrokerMetrics;
  /** What the PingSource schedules and the ping events' `time` read; tests move it. */
  clock?: Clock;
}): Broker {
  const { manifests, deliver, logger, db } = options;
  const triggers = new Map(manifests.triggers.map((t) => [t.name, t]));
  const schedules: { stop(): void }[] = [];
  const maxBackoff = options.maxBackoffMs ?? Number.POSITIVE_INFINITY;
  const leaseMs = options.leaseMs ?? LEASE_MS;
  const clock = options.clock ?? systemClock;
  const count = options.metrics;
  let started = false;
  let stopped = false;
  let round: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  function backoffMs(trigger: TriggerSpec, attempt: number): number {
    const base = trigger.delivery.backoffDelayMs;
    const delay =
      trigger.delivery.backoffPolicy === "linear" ? base * attempt : base * 2 ** (attempt - 1);
    return Math.min(delay, maxBackoff);
  }

  /** Runs delivery rounds until nothing is due, then sleeps until the next retry is. */
  function wake() {
    if (!started || stopped) return;
    if (round) {
      again = true;
      return;
    }
    clearTimeout(timer);
    round = (async () => {
      do {
        again = false;
        if ((await deliverDue()) > 0) again = true;
      } while (again && !stopped);
      await scheduleNext();
    })()
      .catch((error) => {
        logger.error({ err: error }, "local broker round failed; retrying in 1 s");
        timer = setTimeout(wake, 1000);
      })
      .finally(() => {
        round = undefined;
      });
  }

  async function scheduleNext() {
    if (stopped) return;
    const [next] = await db.select({ at: min(queue.nextAttemptAt) }).from(queue);
    if (!next?.at) return;
    timer = setTimeout(wake, Math.max(0, next.at.getTime() - Date.now()));
  }

  async function deliverDue(): Promise<number> {
    const now = new Date();
    const rows = await db.transaction(async (tx) => {
      const due = await tx
        .select()
        .from(queue)
        .where(lte(queue.nextAttemptAt, now))
        .orderBy(asc(queue.createdAt))
        .limit(BATCH)
        .for("update", { skipLocked: true });
      if (due.length > 0) {
        await tx
          .update(queue)
          .set({
            attempts: sql`${queue.attempts} + 1`,
            nextAttemptAt: new Date(now.getTime() + leaseMs),
          })
          .where(
            inArray(
              queue.id,
              due.map((r) => r.id),
            ),
          );
      }
      return due;
    });
    await Promise.all(rows.map((row) => attempt(row)));
    return rows.length;
  }

  async function attempt(row: typeof queue.$inferSelect): Promise<void> {
    const event = row.event as unknown as CloudEventMessage;
    const trigger = triggers.get(row.trigger);
    const log = logger.child({
      trigger: row.trigger,
      eventId: event.id,
      eventType: event.type,
      ...(event.extensions?.traceparent ? { traceparent: event.extensions.traceparent } : {}),
    });
    const done = () => db.delete(queue).where(eq(queue.id, row.id));
    if (!trigger) {
      log.warn("Trigger no longer in knative/; delivery dropped");
      count?.deliveries.inc({ trigger: row.trigger, outcome: "dropped" });
      await done();
      return;
    }
    const attemptNo = row.attempts; // 0 for the first delivery
    const { headers, body } = toBinaryHttp(event);
    let error: string;
    let retryable = true;
    try {
      const response = await deliver(trigger.subscriber, headers, body);
      if (!response) {
        log.debug(
          { service: trigger.subscriber.service },
          "subscriber not hosted locally; dropped",
        );
        count?.deliveries.inc({ trigger: row.trigger, outcome: "dropped" });
        await done();
        return;
      }
      if (response.ok) {
        count?.deliveries.inc({ trigger: row.trigger, outcome: "delivered" });
        await done();
        return;
      }
      error = `HTTP ${response.status}`;
      retryable = RETRYABLE(response.status);
    } catch (thrown) {
      error = thrown instanceof Error ? thrown.message : String(thrown);
    }
    log.warn({ attempt: attemptNo, error }, "delivery failed");
    if (retryable && attemptNo < trigger.delivery.retry) {
      await db
        .update(queue)
        .set({
          lastError: error.slice(0, 500),
          nextAttemptAt: new Date(Date.now() + backoffMs(trigger, attemptNo + 1)),
        })
        .where(eq(queue.id, row.id));
      count?.deliveries.inc({ trigger: row.trigger, outcome: "retried" });
      return;
    }
    count?.deliveries.inc({ trigger: row.trigger, outcome: "dead_lettered" });
    await deadLetter(trigger, event, error, log);
    await done();
  }

  async function deadLetter(
    trigger: TriggerSpec,
    event: CloudEventMessage,
    error: string,
    log: Logger,
  ) {
    const sink = trigger.delivery.deadLetterSink;
    if (!sink) {
      log.error({ error }, "delivery failed for good; no dead-letter sink");
      return;
    }
    const dead = toBinaryHttp({
      ...event,
      extensions: {
        ...event.extensions,
        knativeerrordest: `${trigger.subscriber.service}${trigger.subscriber.uri}`,
        knativeerrordata: Buffer.from(error).toString("base64"),
      },
    });
    const response = await deliver(sink, dead.headers, dead.body).catch(() => undefined);
    count?.deadLetters.inc({ trigger: trigger.name, outcome: response?.ok ? "sent" : "failed" });
    log.error({ error, deadLettered: response?.ok ?? false }, "delivery failed for good");
  }

  async function firePing(name: string): Promise<number | undefined> {
    const source = manifests.pingSources.find((p) => p.name === name);
    if (!source) throw new Error(`no PingSource named ${name}`);
    const { headers, body } = toBinaryHttp({
      id: randomUUID(),
      type: "dev.knative.sources.ping",
      source: `/apis/v1/namespaces/minispod/pingsources/${name}`,
      time: new Date(clock.now()).toISOString(),
      data: source.data ? JSON.parse(source.data) : {},
    });
    const response = await deliver(source.sink, headers, body).catch((error: unknown) => {
      count?.pings.inc({ ping: name, outcome: "failed" });
      throw error;
    });
    count?.pings.inc({ ping: name, outcome: response && !response.ok ? "failed" : "sent" });
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
      const matching = manifests.triggers.filter((t) => triggerMatches(t, attrs));
      count?.accepted.inc({ routed: matching.length > 0 ? "yes" : "no" });
      if (matching.length === 0) return;
      // Durable before acknowledged: the caller marks the outbox row published after this.
      await db
        .insert(queue)
        .values(
          matching.map((trigger) => ({
            trigger: trigger.name,
            eventId: event.id,
            source: event.source,
            event: { ...event } as Record<string, unknown>,
          })),
        )
        .onConflictDoNothing();
      wake();
    },
    async start() {
      // One broker (the local runner's, or the one service replica) delivers from this database:
      // claims left by a killed one are void.
      await db.update(queue).set({ nextAttemptAt: new Date() });
      started = true;
      wake();
    },
    startSchedules() {
      for (const source of manifests.pingSources) {
        schedules.push(
          schedulePing(source, clock, async () => {
            await firePing(source.name).catch((error) =>
              logger.error({ err: error, ping: source.name }, "ping failed"),
            );
          }),
        );
      }
    },
    firePing,
    async idle() {
      for (;;) {
        if (round) {
          await round;
          continue;
        }
        const [left] = await db.select({ id: queue.id }).from(queue).limit(1);
        if (!left || stopped || !started) return;
        // A retry waiting for its backoff: the timer starts the next round.
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async stop() {
      stopped = true;
      for (const schedule of schedules) schedule.stop();
      clearTimeout(timer);
      await round;
    },
  };
}
