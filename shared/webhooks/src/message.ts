import { randomUUID } from "node:crypto";

/** Sent as `user-agent` so customers can recognise (and allow-list) our requests. */
export const WEBHOOK_USER_AGENT = "minispod-webhooks/1";

/**
 * Seconds to wait before each attempt, by attempt number - 1: right away, then
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h — ten attempts over
 * about three days, so a receiver down for a weekend night still gets its events.
 */
export const RETRY_SCHEDULE_SECONDS = [
  0, 5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400,
] as const;

export const MAX_ATTEMPTS = RETRY_SCHEDULE_SECONDS.length;

/** Seconds until the next attempt after `attemptsMade` attempts, or undefined when the schedule is spent. */
export function retryDelaySeconds(attemptsMade: number): number | undefined {
  return RETRY_SCHEDULE_SECONDS[attemptsMade];
}

/** The `webhook-id` of a new message: stable across every retry of it. */
export function newMessageId(): string {
  return `msg_${randomUUID().replaceAll("-", "")}`;
}

/** The Standard Webhooks body. */
export interface WebhookMessage {
  /** Short event type, e.g. "subscription.activated", or "ping". */
  type: string;
  /** When the event happened (ISO 8601); the same on every retry. */
  timestamp: string;
  data: unknown;
}

export const PING_TYPE = "ping";
