import type { components } from "./api-types";

/** An API problem+json, as the portal shows it: in plain words. */
export interface Problem {
  type?: string;
  status?: number;
  title?: string;
  detail?: string;
  code?: string;
  errors?: { field?: string; message?: string }[];
}

/** Every code the OpenAPI document declares (generated: a new code fails the typecheck below). */
export type ProblemCode = components["schemas"]["Problem"]["code"];

/** What a customer reads when nothing better is known. */
export const FALLBACK = "Something went wrong on our side. Please try again in a moment.";
export const UNREACHABLE = "The server could not be reached. Check your connection.";
const SESSION_ENDED = "Your session has ended. Please sign in again.";

function wait(retryAfter: string | null | undefined): string {
  const seconds = Number(retryAfter);
  // Absent (NaN) or empty (0) reads as no wait given.
  if (!Number.isFinite(seconds) || seconds <= 0) return "a moment";
  if (seconds < 90) return `${Math.ceil(seconds)} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

/** The API's own sentence when it sent one, else ours. */
const detailOr = (p: Problem, words: string) => p.detail?.trim() || words;

export const LINK_EXPIRED =
  "This link is invalid, already used or expired. Please ask for a new one.";

/** Something this page sent that it should not have: not the customer's fault, and a reload fixes it. */
const PAGE_FAULT =
  "This page sent a request the server could not accept. Please reload the page and try again.";

/**
 * The words for each code. Where the API's `detail` is written for the
 * customer (a conflict, a decline reason) it is kept; where it is written for
 * a developer (headers, JSON, ETags) the customer gets a sentence of ours.
 */
export const plainWords: Record<ProblemCode, (p: Problem, wait: string) => string> = {
  BAD_REQUEST: () => PAGE_FAULT,
  VALIDATION_FAILED: (p) => detailOr(p, "Some of what you entered is not valid. Please check it."),
  MALFORMED_JSON: () => PAGE_FAULT,
  UNAUTHORIZED: () => SESSION_ENDED,
  INVALID_CREDENTIALS: () => "The email or the password is wrong.",
  TOKEN_EXPIRED: () => SESSION_ENDED,
  INVALID_TOKEN: () => SESSION_ENDED,
  INVALID_SIGNATURE: () => PAGE_FAULT,
  PAYMENT_REQUIRED: () => "A payment method is needed for this. Please add one and try again.",
  PAYMENT_DECLINED: (p) =>
    `Your payment was declined${p.detail ? `: ${p.detail}` : "."} Nothing was charged; try another payment method.`,
  FORBIDDEN: () => "Your account is not allowed to do this.",
  ACCOUNT_DISABLED: () => "This account is disabled. Please contact support.",
  NOT_FOUND: () => "We could not find this. It may have been deleted, or the link is wrong.",
  METHOD_NOT_ALLOWED: () => PAGE_FAULT,
  REQUEST_TIMEOUT: () => "The server took too long to answer. Please try again.",
  CONFLICT: (p) => detailOr(p, "That is already done, or conflicts with what exists."),
  EMAIL_TAKEN: () => "An account with this email already exists. Sign in, or reset its password.",
  IDEMPOTENCY_KEY_REUSED: () => PAGE_FAULT,
  IDEMPOTENCY_IN_PROGRESS: () =>
    "Your previous attempt is still being processed. Wait a few seconds, then check before trying again.",
  GONE: () => "This no longer exists.",
  PRECONDITION_FAILED: () =>
    "This changed since you opened it. Please reload the page and make your change again.",
  PAYLOAD_TOO_LARGE: () => "What you sent is too large. Please shorten it and try again.",
  UNSUPPORTED_MEDIA_TYPE: () => PAGE_FAULT,
  UNPROCESSABLE: (p) => detailOr(p, "This cannot be done right now."),
  PRECONDITION_REQUIRED: () => PAGE_FAULT,
  RATE_LIMITED: (_p, w) => `Too many attempts. Please wait ${w} and try again.`,
  HEADERS_TOO_LARGE: () => PAGE_FAULT,
  INTERNAL: () => FALLBACK,
  BAD_GATEWAY: () =>
    "We could not confirm this with our payment provider yet. Nothing is lost: it is settled automatically, so please check again in a few minutes.",
  SERVICE_UNAVAILABLE: () =>
    "Part of minispod is unavailable right now. Please try again in a minute.",
};

/** A code for a problem without one (a proxy's answer): by its `type`, else by its status. */
const byStatus: Partial<Record<number, ProblemCode>> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  402: "PAYMENT_DECLINED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  408: "REQUEST_TIMEOUT",
  409: "CONFLICT",
  410: "GONE",
  413: "PAYLOAD_TOO_LARGE",
  429: "RATE_LIMITED",
  502: "BAD_GATEWAY",
  503: "SERVICE_UNAVAILABLE",
  504: "REQUEST_TIMEOUT",
};

const isCode = (code: string | undefined): code is ProblemCode =>
  code !== undefined && Object.hasOwn(plainWords, code);

function codeOf(p: Problem, status: number | undefined): ProblemCode | undefined {
  if (isCode(p.code)) return p.code;
  const fromType = p.type
    ?.match(/\/problems\/([a-z-]+)$/)?.[1]
    ?.toUpperCase()
    .replace(/-/g, "_");
  if (isCode(fromType)) return fromType;
  return status === undefined ? undefined : byStatus[status];
}

/**
 * What to tell the customer about a failed call.
 *
 * @example
 * explain({ status: 402, code: "PAYMENT_DECLINED", detail: "The card was declined." })
 * // "Your payment was declined: The card was declined. Nothing was charged; …"
 */
export function explain(problem: unknown, response?: Response): string {
  const p = (problem && typeof problem === "object" ? problem : {}) as Problem;
  const status = response?.status ?? p.status;
  if (status === undefined) return UNREACHABLE;
  // An emailed link's token (verify, reset) that is unknown, used or expired.
  if (p.errors?.some((e) => e.field === "token")) return LINK_EXPIRED;
  if (p.errors && p.errors.length > 0) {
    const list = p.errors.map((e) => `${e.field ? `${e.field} ` : ""}${e.message ?? "is invalid"}`);
    return `Please check: ${list.join("; ")}.`;
  }
  const code = codeOf(p, status);
  if (code) return plainWords[code](p, wait(response?.headers.get("retry-after")));
  return status >= 500 ? FALLBACK : (p.detail ?? FALLBACK);
}
