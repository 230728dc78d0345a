import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";

/**
 * W3C trace context (https://www.w3.org/TR/trace-context/) carried from an
 * HTTP request through the outbox to every consumer of its events (the
 * CloudEvents distributed-tracing extension, `traceparent`), and on to the
 * webhooks and emails they send: one trace id follows a customer action.
 */
export interface TraceContext {
  /** 32 lower-case hex digits, the same across every hop. */
  traceId: string;
  /** Two hex digits; "01" = sampled. */
  flags: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

/** Parses a `traceparent` header; undefined when absent or malformed (then a new trace starts). */
export function parseTraceparent(header: string | undefined | null): TraceContext | undefined {
  if (!header) return undefined;
  const match = TRACEPARENT.exec(header.trim().toLowerCase());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match;
  // Version ff is forbidden; version 00 has exactly four fields.
  if (version === "ff" || (version === "00" && rest)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId: traceId!, flags: flags! };
}

/** A `traceparent` for a new hop of `trace` (a fresh span id). */
export function formatTraceparent(trace: TraceContext): string {
  return `00-${trace.traceId}-${randomBytes(8).toString("hex")}-${trace.flags}`;
}

/** A trace of its own for an action that arrived without one. */
export function newTrace(traceId?: string): TraceContext {
  return { traceId: traceId ?? randomBytes(16).toString("hex"), flags: "01" };
}

/**
 * The trace of an incoming request: the caller's `traceparent` (or a
 * CloudEvent's `ce-traceparent`), else a new one for requests that can change
 * state. A request id we generated is a random UUID and becomes the trace id,
 * so the two match in the logs. GET/HEAD without a header cost nothing.
 */
export function requestTrace(
  traceparent: string | undefined,
  method: string,
  requestId: string,
): TraceContext | undefined {
  const incoming = parseTraceparent(traceparent);
  if (incoming) return incoming;
  if (method === "GET" || method === "HEAD" || method === "OPTIONS") return undefined;
  const hex = requestId.replaceAll("-", "").toLowerCase();
  return newTrace(/^[0-9a-f]{32}$/.test(hex) && hex !== ZERO_TRACE ? hex : undefined);
}

const storage = new AsyncLocalStorage<TraceContext>();

/**
 * Runs `fn` with `trace` as the current trace: events enqueued inside it
 * carry it (`enqueueEvent`), and so do webhooks sent from it.
 *
 * @example
 * await withTrace(parseTraceparent(req.headers.traceparent) ?? newTrace(), () => handle(req));
 */
export function withTrace<T>(trace: TraceContext, fn: () => T): T {
  return storage.run(trace, fn);
}

/** The current trace, if the code runs inside `withTrace`. */
export function currentTrace(): TraceContext | undefined {
  return storage.getStore();
}

/** A `traceparent` for an outgoing message (event, webhook, email) of the current trace. */
export function currentTraceparent(): string | undefined {
  const trace = storage.getStore();
  return trace ? formatTraceparent(trace) : undefined;
}
