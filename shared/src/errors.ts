import { randomUUID } from "node:crypto";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "./logger";

/**
 * Every failure a client can be told about has a code from this closed list.
 * The map below is exhaustive, so adding a code forces choosing its status.
 */
export const errorStatus = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  UNAUTHORIZED: 401,
  INVALID_CREDENTIALS: 401,
  TOKEN_EXPIRED: 401,
  INVALID_TOKEN: 401,
  INVALID_SIGNATURE: 401,
  PAYMENT_REQUIRED: 402,
  PAYMENT_DECLINED: 402,
  FORBIDDEN: 403,
  ACCOUNT_DISABLED: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  EMAIL_TAKEN: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  IDEMPOTENCY_IN_PROGRESS: 409,
  GONE: 410,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE: 422,
  PRECONDITION_REQUIRED: 428,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  BAD_GATEWAY: 502,
  SERVICE_UNAVAILABLE: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof errorStatus;

const titles: Record<ErrorCode, string> = {
  BAD_REQUEST: "Bad request",
  VALIDATION_FAILED: "Validation failed",
  MALFORMED_JSON: "Malformed JSON",
  UNAUTHORIZED: "Authentication required",
  INVALID_CREDENTIALS: "Invalid credentials",
  TOKEN_EXPIRED: "Token expired",
  INVALID_TOKEN: "Invalid token",
  INVALID_SIGNATURE: "Invalid signature",
  PAYMENT_REQUIRED: "Payment required",
  PAYMENT_DECLINED: "Payment declined",
  FORBIDDEN: "Forbidden",
  ACCOUNT_DISABLED: "Account disabled",
  NOT_FOUND: "Not found",
  METHOD_NOT_ALLOWED: "Method not allowed",
  REQUEST_TIMEOUT: "Request timeout",
  CONFLICT: "Conflict",
  EMAIL_TAKEN: "Email already registered",
  IDEMPOTENCY_KEY_REUSED: "Idempotency key reused",
  IDEMPOTENCY_IN_PROGRESS: "Request in progress",
  GONE: "Gone",
  PRECONDITION_FAILED: "Precondition failed",
  PRECONDITION_REQUIRED: "Precondition required",
  PAYLOAD_TOO_LARGE: "Payload too large",
  UNSUPPORTED_MEDIA_TYPE: "Unsupported media type",
  UNPROCESSABLE: "Unprocessable request",
  RATE_LIMITED: "Too many requests",
  HEADERS_TOO_LARGE: "Request headers too large",
  INTERNAL: "Internal server error",
  BAD_GATEWAY: "Upstream failure",
  SERVICE_UNAVAILABLE: "Service unavailable",
};

export interface FieldError {
  /** Dotted path of the offending field, e.g. "resources.cpu"; "" for the body itself. */
  field: string;
  message: string;
}

export interface AppErrorOptions {
  detail?: string;
  fields?: FieldError[];
  /** Seconds, sent as `Retry-After`. */
  retryAfter?: number;
  /** Extra members for the problem document (safe for clients). */
  extra?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * The one error type services throw for expected failures.
 *
 * @example
 * throw new AppError("NOT_FOUND", { detail: "No subscription with this id." });
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: ContentfulStatusCode;
  readonly detail: string | undefined;
  readonly fields: FieldError[] | undefined;
  readonly retryAfter: number | undefined;
  readonly extra: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    super(options.detail ?? titles[code], { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = errorStatus[code];
    this.detail = options.detail;
    this.fields = options.fields;
    this.retryAfter = options.retryAfter;
    this.extra = options.extra;
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  requestId: string;
  instance?: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

const PROBLEM_BASE = "https://minispod.dev/problems/";

export function problemOf(error: AppError, requestId: string, instance?: string): Problem {
  return {
    ...error.extra,
    type: `${PROBLEM_BASE}${error.code.toLowerCase().replaceAll("_", "-")}`,
    title: titles[error.code],
    status: error.status,
    detail: error.detail ?? titles[error.code],
    code: error.code,
    requestId,
    ...(instance ? { instance } : {}),
    ...(error.fields ? { errors: error.fields } : {}),
  };
}

/** What an incoming X-Request-Id may look like to be reused. */
export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The request's id; a response built outside a function app's middleware (the
 * local runner's own not-found) takes the caller's X-Request-Id or a new one,
 * so every answer carries an id the logs can be searched for.
 */
function requestIdOf(c: Context): string {
  const known = c.get("requestId") as string | undefined;
  if (known) return known;
  const sent = c.req.header("x-request-id");
  return sent && REQUEST_ID.test(sent) ? sent : randomUUID();
}

/**
 * RFC 6750: every 401 names the scheme; a token that was sent and refused adds
 * `error="invalid_token"`, so clients know to refresh or sign in again.
 */
function wwwAuthenticate(code: ErrorCode): string {
  return code === "INVALID_TOKEN" || code === "TOKEN_EXPIRED"
    ? 'Bearer realm="minispod", error="invalid_token"'
    : 'Bearer realm="minispod"';
}

export function problemResponse(c: Context, error: AppError): Response {
  const requestId = requestIdOf(c);
  const body = problemOf(error, requestId, c.req.path);
  const headers: Record<string, string> = {
    "content-type": "application/problem+json",
    "x-request-id": requestId,
    "cache-control": "no-store",
  };
  if (error.retryAfter !== undefined) headers["retry-after"] = String(error.retryAfter);
  if (error.status === 401) headers["www-authenticate"] = wwwAuthenticate(error.code);
  return new Response(JSON.stringify(body), { status: error.status, headers });
}

function fromHttpException(error: HTTPException): AppError {
  const status = error.status;
  const message = error.message || undefined;
  if (status === 413) return new AppError("PAYLOAD_TOO_LARGE", { detail: message });
  if (status === 415) return new AppError("UNSUPPORTED_MEDIA_TYPE", { detail: message });
  if (status === 401) return new AppError("UNAUTHORIZED", { detail: message });
  if (status === 403) return new AppError("FORBIDDEN", { detail: message });
  if (status === 404) return new AppError("NOT_FOUND", { detail: message });
  if (status === 400 && message?.toLowerCase().includes("json")) {
    return new AppError("MALFORMED_JSON", { detail: "The request body is not valid JSON." });
  }
  if (status >= 500) return new AppError("INTERNAL");
  return new AppError("BAD_REQUEST", { detail: message });
}

/**
 * The one error handler: our errors as they are, Hono's HTTPException mapped
 * to a code, anything else logged with its stack and answered as a bare 500.
 */
export function handleError(error: unknown, c: Context): Response {
  const logger = c.get("logger") as Logger | undefined;
  if (error instanceof AppError) {
    if (error.status >= 500) logger?.error({ err: error }, "request failed");
    return problemResponse(c, error);
  }
  if (error instanceof HTTPException) {
    const mapped = fromHttpException(error);
    if (mapped.status >= 500) logger?.error({ err: error }, "request failed");
    return problemResponse(c, mapped);
  }
  if (isDependencyUnreachable(error)) {
    // Redis or PostgreSQL gone mid-request: the client may retry, so 503 rather than 500.
    logger?.warn({ err: error }, "dependency unreachable");
    return problemResponse(
      c,
      new AppError("SERVICE_UNAVAILABLE", {
        detail: "A service this request needs is unreachable; try again shortly.",
        retryAfter: 5,
      }),
    );
  }
  logger?.error({ err: error }, "unhandled error");
  return problemResponse(c, new AppError("INTERNAL"));
}

const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT", // postgres.js
  "CONNECTION_CLOSED", // postgres.js
  "CONNECTION_ENDED", // postgres.js
]);

/** ioredis and postgres.js errors that mean "not reachable now" (drizzle wraps them as `cause`). */
function isDependencyUnreachable(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 4; depth++) {
    const candidate = e as { name?: string; code?: string; message?: string; cause?: unknown };
    if (candidate.name === "MaxRetriesPerRequestError") return true;
    if (candidate.code && UNREACHABLE_CODES.has(candidate.code)) return true;
    if (candidate.message === "Connection is closed.") return true; // ioredis
    e = candidate.cause;
  }
  return false;
}
