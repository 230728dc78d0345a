import {
  type Db,
  webhookDeliveries,
  webhookDeliveryAttempts,
  webhookEndpoints,
} from "@minispod/db";
import type { Logger } from "@minispod/shared";
import { formatTraceparent, parseTraceparent } from "@minispod/shared";
import { and, eq, max, ne } from "drizzle-orm";
import { disableEndpoint } from "./disable";
import { MAX_ATTEMPTS, retryDelaySeconds, WEBHOOK_USER_AGENT } from "./message";
import type { AttemptOutcomeLabel, WebhookMetrics } from "./metrics";
import { type SendResult, sendWebhookRequest, type WebhookSender } from "./send";
import { signWebhook } from "./signing";
import type { Resolver } from "./ssrf";

export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type EndpointRow = typeof webhookEndpoints.$inferSelect;
export type AttemptRow = typeof webhookDeliveryAttempts.$inferSelect;

/** `lastError` of a delivery closed unsent because its endpoint is disabled. */
export const DISABLED_NOT_SENT = "The endpoint is disabled; not sent.";

/** How the sending path is configured; built once from `WEBHOOK_*` by each function. */
export interface DeliveryConfig {
  timeoutMs: number;
  allowPrivate: boolean;
  /** Seconds of unbroken failure after which an endpoint is disabled. */
  disableAfterSeconds: number;
  /** CloudEvent source of `webhook.endpoint_disabled` (the function's name). */
  source: string;
  logger: Logger;
  resolver?: Resolver;
  sender?: WebhookSender;
  metrics?: WebhookMetrics;
}

/**
 * - `scheduled`: part of the retry schedule; a failure schedules the next attempt or ends in FAILED.
 * - `manual`: a customer's redeliver; success marks SUCCEEDED, a failure leaves a running schedule alone.
 * - `single`: a test ping; one attempt decides SUCCEEDED or FAILED, no retries.
 */
export type AttemptMode = "scheduled" | "manual" | "single";

export interface AttemptOutcome {
  delivery: DeliveryRow;
  attempt: AttemptRow;
  /** Outbox ids written (endpoint disabled); the caller sends them after the commit. */
  eventIds: string[];
}

/** Current secret, plus the previous one while its rotation overlap lasts. */
export function signingSecrets(endpoint: EndpointRow, now: Date): string[] {
  const previousValid =
    endpoint.previousSecret !== null &&
    endpoint.previousSecretExpiresAt !== null &&
    endpoint.previousSecretExpiresAt.getTime() > now.getTime();
  return previousValid ? [endpoint.secret, endpoint.previousSecret!] : [endpoint.secret];
}

/** A fresh span of the stored trace, or undefined when none was stored. */
function nextHop(stored: string | null): string | undefined {
  const trace = parseTraceparent(stored);
  return trace ? formatTraceparent(trace) : undefined;
}

/** The signed request for one attempt of `delivery` at `now`. */
export function buildRequest(
  delivery: DeliveryRow,
  endpoint: EndpointRow,
  now: Date,
  traceparent?: string,
) {
  // The body is the stored payload serialised the same way on every attempt.
  const body = JSON.stringify(delivery.payload);
  const timestamp = Math.floor(now.getTime() / 1000);
  const headers = {
    "content-type": "application/json",
    "user-agent": WEBHOOK_USER_AGENT,
    "webhook-id": delivery.messageId,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signWebhook({
      id: delivery.messageId,
      timestamp,
      body,
      secrets: signingSecrets(endpoint, now),
    }),
    // The W3C trace of the customer action, so their systems can join ours.
    ...(traceparent ? { traceparent } : {}),
  };
  return { url: endpoint.url, headers, body };
}

/**
 * Makes one attempt at `deliveryId` now and records it: the attempt row, the
 * delivery's status and next attempt, and the endpoint's health (a success
 * clears `failingSince`; 410 Gone, or failing for longer than
 * `disableAfterSeconds`, disables it and writes `webhook.endpoint_disabled`).
 * Returns undefined when the delivery no longer exists.
 *
 * @example
 * const outcome = await attemptDelivery(db, id, { mode: "scheduled", now: ctx.now(), config });
 * if (outcome) ctx.events.kick(outcome.eventIds);
 */
export async function attemptDelivery(
  db: Db,
  deliveryId: string,
  options: {
    mode: AttemptMode;
    now: Date;
    config: DeliveryConfig;
  },
): Promise<AttemptOutcome | undefined> {
  const { now, config, mode } = options;
  const [found] = await db
    .select({ delivery: webhookDeliveries, endpoint: webhookEndpoints })
    .from(webhookDeliveries)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .where(eq(webhookDeliveries.id, deliveryId));
  if (!found) return undefined;
  if (mode === "scheduled") {
    // Claimed a while ago (a sweep sends its batch over minutes): what
    // happened since counts. A manual redeliver may have settled it, and an
    // earlier answer in the same batch (410) may have disabled the endpoint.
    if (found.delivery.status !== "PENDING") return undefined;
    if (!found.endpoint.enabled) {
      await db
        .update(webhookDeliveries)
        .set({ status: "FAILED", nextAttemptAt: null, lastError: DISABLED_NOT_SENT })
        .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, "PENDING")));
      config.metrics?.finished.inc({ status: "FAILED" });
      return undefined;
    }
  }

  // Every attempt (first, retry, redeliver) joins the trace of the event that caused the delivery.
  const traceparent = nextHop(found.delivery.traceparent);
  const request = buildRequest(found.delivery, found.endpoint, now, traceparent);
  const send = config.sender ?? sendWebhookRequest;
  const result = await send({
    ...request,
    timeoutMs: config.timeoutMs,
    allowPrivate: config.allowPrivate,
    ...(config.resolver ? { resolver: config.resolver } : {}),
  });
  config.logger.info(
    {
      deliveryId,
      endpointId: found.endpoint.id,
      eventType: found.delivery.eventType,
      mode,
      statusCode: result.statusCode,
      ms: result.durationMs,
      ok: result.ok,
      ...(result.error ? { error: result.error } : {}),
      ...(traceparent ? { traceId: parseTraceparent(traceparent)?.traceId } : {}),
    },
    "webhook attempt",
  );
  const outcome = outcomeLabel(result);
  config.metrics?.attempts.inc({ outcome });
  config.metrics?.duration.observe({ outcome }, result.durationMs / 1000);
  const recorded = await recordAttempt(db, {
    deliveryId,
    endpointId: found.endpoint.id,
    result,
    mode,
    now,
    config,
  });
  // Counted after the commit, once per delivery: only the attempt that ended it.
  if (recorded?.finished) config.metrics?.finished.inc({ status: recorded.delivery.status });
  return recorded;
}

async function recordAttempt(
  db: Db,
  input: {
    deliveryId: string;
    endpointId: string;
    result: SendResult;
    mode: AttemptMode;
    now: Date;
    config: DeliveryConfig;
  },
): Promise<(AttemptOutcome & { finished: boolean }) | undefined> {
  const { result, mode, now, config } = input;
  return db.transaction(async (tx) => {
    // Endpoint first, then delivery: the same lock order everywhere avoids deadlocks.
    const [endpoint] = await tx
      .select()
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.id, input.endpointId))
      .for("update");
    const [current] = await tx
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.id, input.deliveryId))
      .for("update");
    if (!endpoint || !current) return undefined;

    const attemptNumber = current.attemptCount + 1;
    const [attempt] = await tx
      .insert(webhookDeliveryAttempts)
      .values({
        deliveryId: current.id,
        attemptNumber,
        statusCode: result.statusCode,
        durationMs: result.durationMs,
        error: result.error,
        responseBody: result.responseBody,
        createdAt: now,
      })
      .returning();

    const gone = result.statusCode === 410;
    const [delivery] = await tx
      .update(webhookDeliveries)
      .set({
        attemptCount: attemptNumber,
        lastAttemptAt: now,
        lastStatusCode: result.statusCode,
        lastError: result.error,
        ...nextState(current, attemptNumber, result.ok, gone, mode, now),
      })
      .where(eq(webhookDeliveries.id, current.id))
      .returning();

    const eventIds: string[] = [];
    if (result.ok) {
      if (endpoint.failingSince !== null) {
        await tx
          .update(webhookEndpoints)
          .set({ failingSince: null })
          .where(eq(webhookEndpoints.id, endpoint.id));
      }
    } else {
      let failingSince = endpoint.failingSince ?? now;
      if (endpoint.failingSince !== null) {
        // A streak is "continuous" only if attempts kept failing without a long
        // silence: a failure after a quiet spell longer than the disable window
        // (a rarely used endpoint) starts a new streak instead of disabling at once.
        const [previous] = await tx
          .select({ at: max(webhookDeliveryAttempts.createdAt) })
          .from(webhookDeliveryAttempts)
          .innerJoin(
            webhookDeliveries,
            eq(webhookDeliveries.id, webhookDeliveryAttempts.deliveryId),
          )
          .where(
            and(
              eq(webhookDeliveries.endpointId, endpoint.id),
              ne(webhookDeliveryAttempts.id, attempt!.id),
            ),
          );
        const quietFor = previous?.at ? (now.getTime() - previous.at.getTime()) / 1000 : Infinity;
        if (quietFor > config.disableAfterSeconds) failingSince = now;
      }
      if (failingSince !== endpoint.failingSince) {
        await tx
          .update(webhookEndpoints)
          .set({ failingSince })
          .where(eq(webhookEndpoints.id, endpoint.id));
      }
      const failingFor = (now.getTime() - failingSince.getTime()) / 1000;
      const reason = gone
        ? "The endpoint answered 410 Gone."
        : failingFor >= config.disableAfterSeconds
          ? `Every delivery failed since ${failingSince.toISOString()}; the last error was: ${result.error ?? "unknown"}.`
          : undefined;
      if (reason && endpoint.enabled) {
        const eventId = await disableEndpoint(tx, { endpoint, reason, now, source: config.source });
        if (eventId) {
          eventIds.push(eventId);
          config.metrics?.disabled.inc({ reason: gone ? "gone" : "failing" });
        }
      }
    }
    const finished = current.status === "PENDING" && delivery!.status !== "PENDING";
    return { delivery: delivery!, attempt: attempt!, eventIds, finished };
  });
}

function nextState(
  current: DeliveryRow,
  attemptNumber: number,
  ok: boolean,
  gone: boolean,
  mode: AttemptMode,
  now: Date,
): Pick<DeliveryRow, "status" | "nextAttemptAt"> {
  if (ok) return { status: "SUCCEEDED", nextAttemptAt: null };
  // Settled while this scheduled attempt was in flight (a manual redeliver):
  // the failure is on record but does not reopen the schedule.
  if (mode === "scheduled" && current.status !== "PENDING") {
    return { status: current.status, nextAttemptAt: current.nextAttemptAt };
  }
  // A receiver that says the endpoint is gone gets no more attempts of anything.
  if (gone || mode === "single") return { status: "FAILED", nextAttemptAt: null };
  if (mode === "manual") {
    // A failed manual try does not touch a running schedule; otherwise it is the latest word.
    return current.status === "PENDING"
      ? { status: "PENDING", nextAttemptAt: current.nextAttemptAt }
      : { status: "FAILED", nextAttemptAt: null };
  }
  const delay = attemptNumber < MAX_ATTEMPTS ? retryDelaySeconds(attemptNumber) : undefined;
  if (delay === undefined) return { status: "FAILED", nextAttemptAt: null };
  return { status: "PENDING", nextAttemptAt: new Date(now.getTime() + delay * 1000) };
}

function outcomeLabel(result: SendResult): AttemptOutcomeLabel {
  if (result.ok) return "succeeded";
  if (result.statusCode === 410) return "gone";
  return result.statusCode === null && result.error?.startsWith("refused") ? "refused" : "failed";
}
