/** An API problem+json, as the portal shows it: in plain words. */
export interface Problem {
  status?: number;
  title?: string;
  detail?: string;
  code?: string;
  errors?: { field?: string; message?: string }[];
}

function wait(retryAfter: string | null): string {
  const seconds = Number(retryAfter);
  if (!Number.isFinite(seconds) || seconds <= 0) return "a moment";
  if (seconds < 90) return `${Math.ceil(seconds)} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

/**
 * What to tell the customer about a failed call.
 *
 * @example
 * explain({ status: 402, detail: "The card was declined." }) // "Your payment was declined: …"
 */
export function explain(problem: unknown, response?: Response): string {
  const p = (problem ?? {}) as Problem;
  const status = response?.status ?? p.status;
  if (status === 429)
    return `Too many attempts. Please wait ${wait(response?.headers.get("retry-after") ?? null)} and try again.`;
  if (status === 402)
    return `Your payment was declined${p.detail ? `: ${p.detail}` : "."} Nothing was charged; try another payment method.`;
  if (status === 401 && p.code !== "INVALID_CREDENTIALS")
    return p.detail ?? "Your session has ended. Please sign in again.";
  if (p.errors && p.errors.length > 0) {
    const list = p.errors.map((e) => `${e.field ? `${e.field} ` : ""}${e.message ?? "is invalid"}`);
    return `Please check: ${list.join("; ")}.`;
  }
  if (status === 409) return p.detail ?? "That is already done or conflicts with what exists.";
  if (status === undefined) return "The server could not be reached. Check your connection.";
  return p.detail ?? p.title ?? "Something went wrong. Please try again.";
}
