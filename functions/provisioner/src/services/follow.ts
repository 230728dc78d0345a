import { loadRecord, refOf, syncObserved } from "@minispod/instances";
import type { ProvisionerContext } from "./context";

/**
 * Watches instances left PROVISIONING after an apply, re-reading their
 * status every `intervalMs` until they run, fail or hit the provision
 * deadline, so a customer sees RUNNING within seconds rather than at the
 * next sweep. Best effort: the reconcile sweep remains the guarantee (a
 * replica scaled to zero stops following).
 */
export function createFollower(ctx: ProvisionerContext, intervalMs: number) {
  const following = new Map<string, NodeJS.Timeout>();
  let closed = false;

  const check = async (instanceId: string) => {
    following.delete(instanceId);
    const record = await loadRecord(ctx.db, { instanceId });
    if (record?.instance.status !== "PROVISIONING") return;
    const live = await ctx.cluster.readStatus(refOf(record));
    const after = await syncObserved(ctx.db, instanceId, live, {
      now: ctx.now(),
      provisionTimeoutMs: ctx.provisionTimeoutMs,
      source: ctx.source,
      metrics: ctx.metrics,
    });
    if (after?.instance.status === "PROVISIONING") follow(instanceId);
  };

  function follow(instanceId: string) {
    if (closed || intervalMs <= 0 || following.has(instanceId)) return;
    const timer = setTimeout(() => {
      check(instanceId).catch((error: unknown) => {
        ctx.logger.warn({ err: error, instanceId }, "following a provision failed; the sweep will");
      });
    }, intervalMs);
    // Never keeps the process alive on its own.
    timer.unref();
    following.set(instanceId, timer);
  }

  return {
    follow,
    /** How many instances are being watched. */
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
