import { ApiException } from "@kubernetes/client-node";
import { ClusterError } from "../port";

/** Status codes (and network failures) worth another try after a pause. */
const TRANSIENT = new Set([409, 429, 500, 502, 503, 504]);

interface StatusBody {
  message?: string;
  reason?: string;
}

function statusBody(body: unknown): StatusBody {
  if (typeof body === "string") {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return { message: body };
    }
  }
  return (body ?? {}) as StatusBody;
}

/** What a failed call was, as the retry loop needs it. */
export interface Classified {
  error: ClusterError;
  /** Worth retrying right away in the driver (the error says whether a later redelivery may help). */
  retryNow: boolean;
  /** Server's Retry-After, in ms. */
  retryAfterMs?: number | undefined;
}

const networkCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
]);

function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Maps anything a client-node call throws to a typed ClusterError. */
export function classify(error: unknown, what: string): Classified {
  if (error instanceof ClusterError) return { error, retryNow: false };
  if (error instanceof ApiException) {
    const status = error.code;
    const body = statusBody(error.body);
    const detail = body.message ?? body.reason ?? `HTTP ${status}`;
    const message = `${what}: ${detail}`;
    const retryAfter = Number(error.headers?.["retry-after"]);
    const retryAfterMs =
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined;
    if (status === 404)
      return { error: new ClusterError("not_found", message, { status }), retryNow: false };
    if (status === 401 || status === 403) {
      // A namespace being deleted refuses new objects with 403 for a while; that passes.
      if (/being terminated/i.test(detail)) {
        return { error: new ClusterError("unavailable", message, { status }), retryNow: false };
      }
      return { error: new ClusterError("forbidden", message, { status }), retryNow: false };
    }
    if (status === 400 || status === 422) {
      return { error: new ClusterError("invalid", message, { status }), retryNow: false };
    }
    if (status === 409) {
      return {
        error: new ClusterError("conflict", message, { status }),
        retryNow: true,
        retryAfterMs,
      };
    }
    if (status === 504 && /timeout/i.test(detail)) {
      return {
        error: new ClusterError("timeout", message, { status }),
        retryNow: true,
        retryAfterMs,
      };
    }
    return {
      error: new ClusterError(
        status >= 500 || status === 429 ? "unavailable" : "invalid",
        message,
        {
          status,
          cause: error,
        },
      ),
      retryNow: TRANSIENT.has(status),
      retryAfterMs,
    };
  }
  const name = (error as { name?: string } | null)?.name;
  if (name === "TimeoutError" || name === "AbortError") {
    return {
      error: new ClusterError("timeout", `${what}: no answer in time`, { cause: error }),
      retryNow: true,
    };
  }
  const code = errorCode(error);
  if (
    (code && networkCodes.has(code)) ||
    (error instanceof TypeError && /fetch failed/i.test(error.message))
  ) {
    return {
      error: new ClusterError("unavailable", `${what}: ${code ?? "network error"}`, {
        cause: error,
      }),
      retryNow: true,
    };
  }
  throw error;
}
