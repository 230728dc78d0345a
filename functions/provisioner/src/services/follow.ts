import { loadRecord, refOf, syncObserved } from "@minispod/instances";
import type { Logger } from "@minispod/shared";
import type { ProvisionerContext } from "./context";

/**
 * Re-runs `check(id)` every `intervalMs` for as long as it answers true (still
 * moving), one timer per id, so a customer sees a change within seconds rather
 * than at the next sweep. Best effort: the sweeps remain the guarantee (a
 * replica scaled to zero stops following). A failed check is logged, not retried.
 */
export function createPoller(options: {
  intervalMs: number;
  logger: Logger;
  /** The log line's field for the id, and what is followed: "instanceId", "a provision". */
  idField: string;
  what: string;
  check: (id: string) => Promise<boolean>;
}) {
  const following = new Map<string, NodeJS.Timeout>();
  let closed = false;

  function follow(id: string) {
    if (closed || options.intervalMs <= 0 || following.has(id)) return;
    const timer = setTimeout(() => {
      following.delete(id);
      options.check(id).then(
        (again) => {
          if (again) follow(id);
        },
        (error: unknown) => {
          options.logger.warn(
            { err: error, [options.idField]: id },
            `following ${options.what} failed; the sweep will`,
          );
        },
      );
    }, options.intervalMs);
    // Never keeps the process alive on its own.
    timer.unref();
    following.set(id, timer);
  }

  return {
    follow,
    /** How many are being watched. */
    get size() {
      return following.size;
    },
    close() {
      closed = true;
      for (const timer of following.values()) clearTimeout(timer);
      following.clear();
    },
  };
}

/**
 * Watches instances left PROVISIONING after an apply, re-reading their
 * status every `intervalMs` until they run, fail or hit the provision deadline.
 */
export function createFollower(ctx: ProvisionerContext, intervalMs: number) {
  return createPoller({
    intervalMs,
    logger: ctx.logger,
    idField: "instanceId",
    what: "a provision",
    check: async (instanceId) => {
      const record = await loadRecord(ctx.db, { instanceId });
      if (record?.instance.status !== "PROVISIONING") return false;
      const live = await ctx.cluster.readStatus(refOf(record));
      const after = await syncObserved(ctx.db, instanceId, live, {
        now: ctx.now(),
        provisionTimeoutMs: ctx.provisionTimeoutMs,
        source: ctx.source,
        metrics: ctx.metrics,
      });
      return after?.instance.status === "PROVISIONING";
    },
  });
}
