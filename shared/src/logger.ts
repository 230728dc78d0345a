import { AsyncLocalStorage } from "node:async_hooks";
import { pino } from "pino";

export type Logger = pino.Logger;

export interface LoggerOptions {
  name: string;
  level?: string;
  /** Extra fields redacted on top of the defaults (passwords, tokens, secrets). */
  redact?: string[];
  /** Where lines go; stdout (asynchronously) by default. Tests pass a stream to read them. */
  destination?: pino.DestinationStream;
}

const DEFAULT_REDACT = [
  "password",
  "*.password",
  "*.newPassword",
  "*.currentPassword",
  "*.token",
  "*.refreshToken",
  "*.accessToken",
  "*.secret",
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
];

const LOG_BATCH_BYTES = 4096;
const LOG_FLUSH_MS = 250;

// The request a line is logged for. Cheaper than a child logger per request
// (pino serialises a child's bindings when it is made, logged or not).
const requestScope = new AsyncLocalStorage<{ requestId: string }>();

/** Runs `fn` so that every line logged inside it (and in work it starts) carries `requestId`. */
export function runWithRequestId<T>(requestId: string, fn: () => T): T {
  return requestScope.run({ requestId }, fn);
}

/**
 * JSON logs on stdout (what Knative and any log shipper expect), with secrets
 * redacted. Lines logged while a request is served carry its `requestId`.
 * Writes are asynchronous and batched (4 KiB or 250 ms, whichever comes first;
 * the rest is flushed at exit), so a slow log reader does not stall requests.
 *
 * @example
 * const logger = createLogger({ name: "auth", level: "info" });
 * logger.info({ userId }, "user registered");
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? "info",
      redact: { paths: [...DEFAULT_REDACT, ...(options.redact ?? [])], censor: "[redacted]" },
      base: { fn: options.name },
      timestamp: pino.stdTimeFunctions.isoTime,
      // A fresh object each line: pino merges the line's own fields into it.
      mixin: () => {
        const scope = requestScope.getStore();
        return scope ? { requestId: scope.requestId } : {};
      },
    },
    options.destination ??
      pino.destination({
        dest: 1,
        sync: false,
        // One write(2) per 4 KiB of lines instead of one per request line (the
        // write was 9% of /services under load); lines wait at most 250 ms, and
        // pino writes what is left when the process exits.
        minLength: LOG_BATCH_BYTES,
        periodicFlush: LOG_FLUSH_MS,
      }),
  );
}
