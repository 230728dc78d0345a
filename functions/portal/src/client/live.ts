import { useEffect, useState } from "hono/jsx/dom";
import { explain, UNREACHABLE } from "./problems";

/** The part of `document` polling needs: whether the tab is hidden, and when that changes. */
export interface Visibility {
  readonly hidden: boolean;
  addEventListener(type: "visibilitychange", fn: () => void): void;
  removeEventListener(type: "visibilitychange", fn: () => void): void;
}

export interface PollOptions<T> {
  url: string;
  intervalMs: number;
  authorization: () => Promise<string | undefined>;
  onData: (data: T) => void;
  /** A message in plain words while polling fails; undefined once it works again. */
  onError: (message: string | undefined) => void;
  /** The longest wait between attempts while failing (default 60 s). */
  maxBackoffMs?: number;
  fetch?: typeof fetch;
  visibility?: Visibility;
}

/**
 * Polls `url` with ETags: the API answers 304 with no body while nothing
 * changed, so an open page costs a few bytes every couple of seconds. Nothing
 * is fetched while the tab is hidden (it fetches at once when shown again),
 * and failures back off exponentially (honouring Retry-After) up to
 * `maxBackoffMs`. Returns the function that stops it.
 *
 * @example
 * const stop = startPolling({ url: "/api/v1/instances", intervalMs: 3000, authorization, onData, onError });
 */
export function startPolling<T>(options: PollOptions<T>): () => void {
  const { url, intervalMs, authorization, onData, onError } = options;
  const get = options.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args));
  const visibility = options.visibility ?? document;
  const maxBackoffMs = options.maxBackoffMs ?? 60_000;
  let etag: string | undefined;
  let stopped = false;
  let inFlight = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;

  const schedule = (delayMs: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void tick();
    }, delayMs);
  };

  /** Waits after a failure: doubling, at least Retry-After, at most maxBackoffMs. */
  const backoff = (retryAfterSeconds?: number) => {
    failures++;
    const doubled = intervalMs * 2 ** failures;
    const floor = (retryAfterSeconds ?? 0) * 1000;
    return Math.min(maxBackoffMs, Math.max(doubled, floor));
  };

  const tick = async () => {
    // A hidden tab polls nothing; the visibilitychange handler starts again.
    if (stopped || inFlight || visibility.hidden) return;
    inFlight = true;
    let next = intervalMs;
    try {
      const headers: Record<string, string> = {};
      const auth = await authorization();
      if (auth) headers.authorization = auth;
      if (etag) headers["if-none-match"] = etag;
      const res = await get(url, { headers, cache: "no-store" });
      if (res.status === 200) {
        etag = res.headers.get("etag") ?? undefined;
        const data = (await res.json()) as T;
        failures = 0;
        if (!stopped) {
          onData(data);
          onError(undefined);
        }
      } else if (res.status === 304) {
        if (failures > 0 && !stopped) onError(undefined);
        failures = 0;
      } else {
        const problem = await res.json().catch(() => undefined);
        const retryAfter = Number(res.headers.get("retry-after"));
        next = backoff(Number.isFinite(retryAfter) ? retryAfter : undefined);
        if (!stopped) onError(explain(problem, res));
      }
    } catch {
      // Offline for a moment: keep showing the last state; say so if it lasts.
      next = backoff();
      if (failures >= 2 && !stopped) onError(UNREACHABLE);
    } finally {
      inFlight = false;
    }
    if (!stopped && !visibility.hidden) schedule(next);
  };

  const onVisibility = () => {
    if (visibility.hidden) {
      clearTimeout(timer);
      timer = undefined;
    } else if (!timer) {
      void tick();
    }
  };
  visibility.addEventListener("visibilitychange", onVisibility);
  void tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
    visibility.removeEventListener("visibilitychange", onVisibility);
  };
}

/** The last data and error of `startPolling` for a component; stops when it unmounts. */
export function usePolled<T>(
  url: string,
  intervalMs: number,
  authorization: () => Promise<string | undefined>,
): { data?: T; error?: string } {
  const [state, setState] = useState<{ data?: T; error?: string }>({});
  useEffect(
    () =>
      startPolling<T>({
        url,
        intervalMs,
        authorization,
        onData: (data) => setState((s) => ({ ...s, data })),
        onError: (error) => setState((s) => (s.error === error ? s : { ...s, error })),
      }),
    [url],
  );
  return state;
}
