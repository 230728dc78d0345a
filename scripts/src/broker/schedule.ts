import { Cron } from "croner";
import type { PingSourceSpec } from "./manifests";

/** Wall-clock milliseconds; the PingSource schedules read it, so tests can start one just before a minute turns. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** setTimeout's longest delay is about 24.8 days; longer waits are taken in steps. */
const MAX_WAIT_MS = 2 ** 31 - 1;

/**
 * Runs `fire` at each time `source.schedule` names (standard cron, in the
 * PingSource's timezone), as read from `clock`. Like croner's `protect`, an
 * occurrence that comes while the previous run is still going is skipped.
 *
 * @example
 * const schedule = schedulePing(source, systemClock, () => firePing(source.name));
 * schedule.stop();
 */
export function schedulePing(
  source: Pick<PingSourceSpec, "schedule" | "timezone">,
  clock: Clock,
  fire: () => Promise<void>,
): { stop(): void } {
  // Without a callback croner starts no timer of its own: it only computes occurrences.
  const cron = new Cron(source.schedule, source.timezone ? { timezone: source.timezone } : {});
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running = false;
  // The occurrence last armed for: a timer that fires a little early must not
  // compute that same occurrence again.
  let due = 0;

  const arm = () => {
    if (stopped) return;
    const now = clock.now();
    const next = cron.nextRun(new Date(Math.max(now, due)));
    if (!next) return;
    due = next.getTime();
    const wait = due - now;
    timer =
      wait > MAX_WAIT_MS ? setTimeout(rearm, MAX_WAIT_MS) : setTimeout(onTime, Math.max(0, wait));
  };
  const rearm = () => {
    due = 0;
    arm();
  };
  const onTime = () => {
    arm();
    if (running) return;
    running = true;
    void fire().finally(() => {
      running = false;
    });
  };
  arm();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
