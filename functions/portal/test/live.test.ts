import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startPolling, type Visibility } from "../src/client/live";

/** A tab whose visibility the test switches, as `document` would report it. */
class Tab extends EventTarget implements Visibility {
  hidden = false;
  set(hidden: boolean) {
    this.hidden = hidden;
    this.dispatchEvent(new Event("visibilitychange"));
  }
}

type Answer = () => Response | Promise<Response>;

function harness(answers: Answer[] = []) {
  const tab = new Tab();
  const calls: { at: number; etag: string | undefined }[] = [];
  const data: unknown[] = [];
  const errors: (string | undefined)[] = [];
  const queue = [...answers];
  const fetch = vi.fn(async (_url: unknown, init?: RequestInit) => {
    calls.push({
      at: Date.now(),
      etag: ((init?.headers ?? {}) as Record<string, string>)["if-none-match"],
    });
    const next = queue.shift() ?? (() => new Response(null, { status: 304 }));
    return next();
  });
  const stop = startPolling<unknown>({
    url: "/api/v1/instances",
    intervalMs: 1000,
    maxBackoffMs: 16_000,
    authorization: async () => "Bearer t",
    onData: (d) => data.push(d),
    onError: (e) => errors.push(e),
    fetch: fetch as unknown as typeof globalThis.fetch,
    visibility: tab,
  });
  return { tab, calls, data, errors, stop };
}

const ok = (body: unknown, etag: string) => () =>
  new Response(JSON.stringify(body), { status: 200, headers: { etag } });

/** Advances fake time by `ms`, letting each fetch's promise chain run. */
async function elapse(ms: number) {
  await vi.advanceTimersByTimeAsync(ms);
}

describe("live status polling", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("polls every interval with the last ETag and hands over new data only", async () => {
    const h = harness([ok({ v: 1 }, '"a"'), () => new Response(null, { status: 304 })]);
    await elapse(0);
    await elapse(1000);
    await elapse(1000);
    expect(h.calls.map((c) => c.etag)).toEqual([undefined, '"a"', '"a"']);
    expect(h.data).toEqual([{ v: 1 }]);
    h.stop();
  });

  it("fetches nothing while the tab is hidden, and fetches at once when it is shown", async () => {
    const h = harness();
    await elapse(0);
    expect(h.calls).toHaveLength(1);
    h.tab.set(true);
    await elapse(60_000);
    expect(h.calls).toHaveLength(1);
    h.tab.set(false);
    await elapse(0);
    expect(h.calls).toHaveLength(2);
    expect(h.calls[1]?.at).toBe(60_000);
    // And back to the normal pace.
    await elapse(1000);
    expect(h.calls).toHaveLength(3);
    h.stop();
  });

  it("backs off exponentially while the server fails, and says so in plain words", async () => {
    const failing = () =>
      new Response(JSON.stringify({ code: "SERVICE_UNAVAILABLE" }), { status: 503 });
    const h = harness([failing, failing, failing, failing, failing, failing]);
    // Six failures (0, 2, 6, 14, 30, 46 s), then a 304 at 62 s.
    await elapse(62_000);
    const gaps = h.calls.slice(1).map((c, i) => c.at - (h.calls[i]?.at ?? 0));
    expect(gaps).toEqual([2000, 4000, 8000, 16_000, 16_000, 16_000]);
    expect(h.errors[0]).toMatch(/unavailable right now/);
    // Once it answers again: the error clears and the pace is normal.
    expect(h.errors.at(-1)).toBeUndefined();
    await elapse(1000);
    expect(h.calls.at(-1)?.at).toBe(63_000);
    h.stop();
  });

  it("waits at least Retry-After on a 429", async () => {
    const limited = () => new Response("{}", { status: 429, headers: { "retry-after": "10" } });
    const h = harness([limited]);
    await elapse(0);
    await elapse(9_999);
    expect(h.calls).toHaveLength(1);
    await elapse(1);
    expect(h.calls).toHaveLength(2);
    expect(h.errors[0]).toBe("Too many attempts. Please wait 10 seconds and try again.");
    h.stop();
  });

  it("keeps quiet about one lost answer, and reports the network once it lasts", async () => {
    const offline = () => Promise.reject(new TypeError("Failed to fetch"));
    const h = harness([offline, offline]);
    await elapse(0);
    expect(h.errors).toEqual([]);
    await elapse(2000);
    expect(h.errors).toEqual(["The server could not be reached. Check your connection."]);
    h.stop();
  });

  it("stops for good when stopped", async () => {
    const h = harness();
    await elapse(0);
    h.stop();
    h.tab.set(true);
    h.tab.set(false);
    await elapse(10_000);
    expect(h.calls).toHaveLength(1);
  });
});
