import { pino } from "pino";

export type Logger = pino.Logger;

export interface LoggerOptions {
  name: string;
  level?: string;
  /** Extra fields redacted on top of the defaults (passwords, tokens, secrets). */
  redact?: string[];
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

/**
 * JSON logs on stdout (what Knative and any log shipper expect), with secrets
 * redacted. Each request gets a child carrying its `requestId`.
 *
 * @example
 * const logger = createLogger({ name: "auth", level: "info" });
 * logger.child({ requestId }).info("user registered");
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino({
    name: options.name,
    level: options.level ?? "info",
    redact: { paths: [...DEFAULT_REDACT, ...(options.redact ?? [])], censor: "[redacted]" },
    base: { fn: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
