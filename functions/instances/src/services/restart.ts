import { isClusterError } from "@minispod/cluster";
import { loadRecord, recordTransition } from "@minispod/instances";
import { AppError, recordAudit } from "@minispod/shared";
import type { Actor, InstancesContext } from "./context";
import { instanceNotFound, reachableInstance } from "./read";

/** Only an instance that should be up can be restarted. */
const RESTARTABLE = ["PROVISIONING", "RUNNING", "FAILED"] as const;

/** How long the in-flight mark holds if the process dies before releasing it. */
const IN_FLIGHT_SECONDS = 60;

/**
 * Rollout restart: new pods, same configuration. Recorded on the timeline
 * (back to PROVISIONING, so the provision deadline counts again); the
 * sweep and reads record RUNNING once the new pod is ready.
 */
export async function restartInstance({
  ctx,
  input,
}: {
  ctx: InstancesContext;
  input: { actor: Actor; id: string };
}) {
  const row = await reachableInstance(ctx, input.actor, input.id);
  if (!(RESTARTABLE as readonly string[]).includes(row.status)) {
    throw new AppError("CONFLICT", {
      detail: `An instance that is ${row.status.toLowerCase()} cannot be restarted.`,
    });
  }
  // One restart in flight per instance, and at most `limit` per window: each
  // one replaces the pods, so a loop of them is an outage, not a repair.
  const lock = `instance-restart-in-flight:${row.id}`;
  if (!(await ctx.store.setIfAbsent(lock, "1", IN_FLIGHT_SECONDS))) {
    throw new AppError("RATE_LIMITED", {
      detail: "A restart of this instance is already in progress; try again in a few seconds.",
      retryAfter: 5,
    });
  }
  try {
    const { limit, windowSeconds } = ctx.restartLimit;
    if (limit > 0) {
      const outcome = await ctx.limiter.hit(`instance-restart:${row.id}`, limit, windowSeconds);
      if (!outcome.allowed) {
        throw new AppError("RATE_LIMITED", {
          detail: `This instance may be restarted ${limit} times per ${windowSeconds / 60} min; try again in ${outcome.retryAfterSeconds} s.`,
          retryAfter: outcome.retryAfterSeconds,
        });
      }
    }
    return await restartNow(ctx, input.actor, row);
  } finally {
    await ctx.store.del(lock);
  }
}

async function restartNow(
  ctx: InstancesContext,
  actor: Actor,
  row: Awaited<ReturnType<typeof reachableInstance>>,
) {
  let restartedAt: string;
  try {
    ({ restartedAt } = await ctx.cluster.restart({ customerId: row.userId, instanceId: row.id }));
  } catch (error) {
    if (isClusterError(error, "not_found")) {
      throw new AppError("CONFLICT", {
        detail: "The instance is not in the cluster yet; it is being repaired.",
      });
    }
    if (isClusterError(error)) {
      ctx.logger.warn({ err: error, instanceId: row.id }, "restart failed");
      throw new AppError("SERVICE_UNAVAILABLE", {
        detail: "The cluster is unavailable; retry later.",
      });
    }
    throw error;
  }
  const by = actor.id === row.userId ? "the customer" : "an administrator";
  const status = await ctx.db.transaction(async (tx) => {
    const locked = await loadRecord(tx, { instanceId: row.id }, { lock: true });
    if (!locked) throw instanceNotFound();
    await recordAudit(tx, {
      actor,
      action: "instance.restarted",
      resourceType: "instance",
      resourceId: row.id,
      ownerId: row.userId,
      metadata: { restartedAt, ownerId: row.userId },
      at: ctx.now(),
    });
    const after = await recordTransition(
      tx,
      locked,
      { status: "PROVISIONING", message: `Restarting, as asked by ${by}.`, lastError: null },
      { source: ctx.source, now: ctx.now() },
    );
    return after.instance.status;
  });
  return { id: row.id, status, restartedAt };
}
