import { isClusterError } from "@minispod/cluster";
import { loadRecord, readCredential, refOf } from "@minispod/instances";
import type { ProvisionerContext } from "./context";

export interface RotationResult {
  outcome: "no-instance" | "nothing-to-do" | "applied";
}

/**
 * Writes a rotated credential into the instance's Secret and rolls the
 * workload so the app starts with it. What is written is the value stored
 * now, not one carried by the event: a replayed or late event writes the
 * newest value, so it never undoes a later rotation.
 */
export async function applyRotatedCredential(
  ctx: ProvisionerContext,
  input: { instanceId: string; name: string },
): Promise<RotationResult> {
  const record = await loadRecord(ctx.db, { instanceId: input.instanceId });
  if (!record || ["PENDING", "DELETING", "DELETED"].includes(record.instance.status)) {
    // No workload yet (its first apply writes the stored value) or none any more.
    return { outcome: record ? "nothing-to-do" : "no-instance" };
  }
  const value = await readCredential(ctx.db, ctx.keyring, input.instanceId, input.name);
  if (value === undefined) return { outcome: "nothing-to-do" };
  const ref = refOf(record);
  try {
    await ctx.cluster.setSecretValues(ref, { [input.name]: value });
    await ctx.cluster.restart(ref);
  } catch (error) {
    // Gone from the cluster: the reconcile sweep re-applies it with the stored values.
    if (isClusterError(error, "not_found")) return { outcome: "nothing-to-do" };
    throw error;
  }
  return { outcome: "applied" };
}
