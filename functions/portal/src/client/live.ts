import { useEffect, useState } from "hono/jsx/dom";
import { explain } from "./problems";

/**
 * Live data by polling with ETags: the API answers 304 with no body while
 * nothing changed, so an open page costs a few bytes every couple of seconds.
 */
export function usePolled<T>(
  url: string,
  intervalMs: number,
  authorization: () => Promise<string | undefined>,
): { data?: T; error?: string } {
  const [state, setState] = useState<{ data?: T; error?: string }>({});
  useEffect(() => {
    let etag: string | undefined;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const headers: Record<string, string> = {};
        const auth = await authorization();
        if (auth) headers.authorization = auth;
        if (etag) headers["if-none-match"] = etag;
        const res = await fetch(url, { headers, cache: "no-store" });
        if (res.status === 200) {
          etag = res.headers.get("etag") ?? undefined;
          const data = (await res.json()) as T;
          if (!stopped) setState({ data });
        } else if (res.status !== 304 && !stopped) {
          const problem = await res.json().catch(() => undefined);
          setState((s) => ({ ...s, error: explain(problem, res) }));
        }
      } catch {
        // Offline for a moment: keep showing the last state and try again.
      }
      if (!stopped) timer = setTimeout(tick, document.hidden ? intervalMs * 5 : intervalMs);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [url]);
  return state;
}
