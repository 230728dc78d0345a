import type { ClusterError } from "../port";
import { classify } from "./errors";

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** First pause; doubles each time, with full jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 3_000 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs one API call, retrying transient failures (409, 429, 5xx, network,
 * timeouts) with exponential backoff and full jitter; anything else, or
 * the last failure, is thrown as a ClusterError.
 */
export async function withRetries<T>(
  what: string,
  call: () => Promise<T>,
  policy: RetryPolicy = defaultRetryPolicy,
  random: () => number = Math.random,
): Promise<T> {
  let last: ClusterError | undefined;
  for (let attempt = 0; attempt < policy.attempts; attempt++) {
    if (attempt > 0) {
      const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await sleep(Math.max(random() * cap, 0));
    }
    try {
      return await call();
    } catch (thrown) {
      const { error, retryNow, retryAfterMs } = classify(thrown, what);
      if (!retryNow) throw error;
      last = error;
      if (retryAfterMs !== undefined && attempt + 1 < policy.attempts) {
        await sleep(Math.min(retryAfterMs, policy.maxDelayMs));
      }
    }
  }
  throw last as ClusterError;
}
