import { type AppEnv, handleError, jsonBody, parseDuration } from "@minispod/shared";
import { Hono } from "hono";
import * as v from "valibot";

/**
 * Local mode's one clock: every hosted function's `now()` reads it, so moving
 * it moves "now" for all of them at once (real time plus an offset that only
 * grows). Local-only: it lives in the runner, which no function bundle imports.
 */
export interface LocalClock {
  now(): Date;
  /** Seconds the clock is ahead of real time. */
  readonly offsetSeconds: number;
  /** Moves the clock forward; it never goes back (sweeps assume time only moves on). */
  advance(seconds: number): void;
}

export function createLocalClock(): LocalClock {
  let offsetMs = 0;
  return {
    now: () => new Date(Date.now() + offsetMs),
    get offsetSeconds() {
      return offsetMs / 1000;
    },
    advance(seconds) {
      offsetMs += Math.max(0, seconds) * 1000;
    },
  };
}

const clockBody = v.pipe(
  v.object({
    /** "36h", "7d", "90m" or seconds: how far to move forward. */
    advance: v.optional(
      v.pipe(
        v.string("must be a duration string"),
        v.regex(/^\d+\s*[smhd]?$/, 'must be a duration like "36h" or "7d"'),
      ),
    ),
    /** An ISO time to move to (must not be before the clock's now). */
    to: v.optional(v.pipe(v.string("must be a string"), v.isoTimestamp("must be an ISO time"))),
  }),
  v.check(
    (b) => (b.advance === undefined) !== (b.to === undefined),
    "give advance or to, not both",
  ),
);

/**
 * `GET /_dev/clock` shows local mode's now; `POST /_dev/clock` with
 * `{"advance": "7d"}` or `{"to": "<ISO time>"}` moves it forward, then fires
 * every PingSource once at the new time (each sweep does whatever is due then)
 * and waits until the events they caused are handled.
 *
 * @example
 * curl -s localhost:3000/_dev/clock -H 'content-type: application/json' -d '{"advance":"29d"}'
 */
export function clockRoutes(
  clock: LocalClock,
  sweeps: { fireAll(): Promise<Record<string, number | undefined>>; settle(): Promise<void> },
) {
  return new Hono<AppEnv>()
    .onError(handleError)
    .get("/", (c) => c.json({ now: clock.now().toISOString(), offsetSeconds: clock.offsetSeconds }))
    .post("/", jsonBody(clockBody), async (c) => {
      const body = c.req.valid("json");
      const seconds = body.advance
        ? parseDuration(body.advance)
        : (new Date(body.to!).getTime() - clock.now().getTime()) / 1000;
      if (seconds < 0) {
        return c.json(
          { error: "the local clock only moves forward", now: clock.now().toISOString() },
          409,
        );
      }
      clock.advance(seconds);
      // Twice: a sweep's work (an expiry) can make another's due (the provisioner's suspend).
      const fired = await sweeps.fireAll();
      await sweeps.settle();
      await sweeps.fireAll();
      await sweeps.settle();
      return c.json({ now: clock.now().toISOString(), offsetSeconds: clock.offsetSeconds, fired });
    });
}
