import { randomUUID } from "node:crypto";
import { type Db, localBrokerDeliveries as queue } from "@minispod/db";
import {
  type CloudEventMessage,
  type EventPublisher,
  type Logger,
  toBinaryHttp,
} from "@minispod/shared";
import { Cron } from "croner";
import { asc, eq, inArray, lte, min, sql } from "drizzle-orm";
import type { Destination, Manifests, TriggerSpec } from "./manifests";
import { triggerMatches } from "./manifests";

/** Sends one HTTP request to a hosted function; the runner implements it with `app.request`. */
export type Deliver = (
  destination: Destination,
  headers: Record<string, string>,
  body: string,
) => Promise<Response | undefined>;

export interface LocalBroker extends EventPublisher {
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
/** How long a claimed row stays invisible while its delivery runs. */
const LEASE_MS = 60_000;

/**
 * An in-process Knative Broker: routes each event to every Trigger whose
 * filter matches (read from knative/), retries with the Trigger's backoff, and
 * hands what still fails to its dead-letter sink.
 *
 * Like the cluster's broker it acknowledges a publish only once the event is
 * durable: `publish` writes one row per matching Trigger to
 * `local_broker_deliveries` (in the same database as the outbox) before the
 * outbox marks the event published, and a row goes only when its subscriber
 * has answered. A crash at any point leaves either an unpublished outbox row
 * or a queued delivery, and the next start delivers it; consumers deduplicate
 * the rare second copy by (source, id).
 */
export function createLocalBroker(options: {
  manifests: Manifests;
  deliver: Deliver;
  logger: Logger;
  db: Db;
  /** Local runs should not wait minutes between retries. */
  maxBackoffMs?: number;
  /** The `time` of PingSource events: local mode's clock (`/_dev/clock`). */
  now?: () => Date;
}): LocalBroker {
  const { manifests, deliver, logger, db } = options;
  const triggers = new Map(manifests.triggers.map((t) => [t.name, t]));
  const crons: Cron[] = [];
  const maxBackoff = options.maxBackoffMs ?? 30_000;
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
            nextAttemptAt: new Date(now.getTime() + LEASE_MS),
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
        await done();
        return;
      }
      if (response.ok) {
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
      return;
    }
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
    log.error({ error, deadLettered: response?.ok ?? false }, "delivery failed for good");
  }

  async function firePing(name: string): Promise<number | undefined> {
    const source = manifests.pingSources.find((p) => p.name === name);
    if (!source) throw new Error(`no PingSource named ${name}`);
    const { headers, body } = toBinaryHttp({
      id: randomUUID(),
      type: "dev.knative.sources.ping",
      source: `/apis/v1/namespaces/minispod/pingsources/${name}`,
      time: (options.now?.() ?? new Date()).toISOString(),
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
      const matching = manifests.triggers.filter((t) => triggerMatches(t, attrs));
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
      // Only one local runner delivers from this database; claims left by a killed one are void.
      await db.update(queue).set({ nextAttemptAt: new Date() });
      started = true;
      wake();
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
      for (const cron of crons) cron.stop();
      clearTimeout(timer);
      await round;
    },
  };
}
