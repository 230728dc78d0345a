import { isClusterError } from "@minispod/cluster";
import { loadRecord, recordTransition } from "@minispod/instances";
import { AppError, recordAudit } from "@minispod/shared";
import type { Actor, InstancesContext } from "./context";
import { instanceNotFound, reachableInstance } from "./read";

/** Only an instance that should be up can be restarted. */
const RESTARTABLE = ["PROVISIONING", "RUNNING", "FAILED"] as const;

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
  const by = input.actor.id === row.userId ? "the customer" : "an administrator";
  const status = await ctx.db.transaction(async (tx) => {
    const locked = await loadRecord(tx, { instanceId: row.id }, { lock: true });
    if (!locked) throw instanceNotFound();
    await recordAudit(tx, {
      actor: input.actor,
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
