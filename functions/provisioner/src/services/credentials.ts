import { type InstanceStatus, isClusterError } from "@minispod/cluster";
import {
  appSpecOf,
  credentialsOf,
  ensureCredentials,
  type InstanceRecord,
  loadRecord,
  MEANT_TO_RUN,
  readCredential,
  recordTransition,
  refOf,
} from "@minispod/instances";
import type { ProvisionerContext } from "./context";

/**
 * The values the instance's Secret is written with: its customer-facing
 * credentials, generated once and kept sealed in the database (the
 * provisioner never reads a Secret back).
 */
export function secretValuesOf(ctx: ProvisionerContext, record: InstanceRecord) {
  return ensureCredentials(
    ctx.db,
    ctx.keyring,
    record.instance.id,
    credentialsOf(record.service).map((c) => c.secret),
  );
}

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

/** The timeline line of a repaired Secret, in words the customer can act on. */
export const SECRET_RECREATED_MESSAGE =
  "The app's Secret was missing and has been re-created; generated values other than your credentials were regenerated.";

export interface SecretRepair {
  outcome: "recreated" | "exists";
}

/**
 * Creates again the Secret of an instance whose pods report it missing
 * (deleted behind our back; `applyInstance` never re-creates it for an
 * existing workload). The customer-facing credentials get their current
 * values, unsealed from the database as at provision time, so what the
 * customer reads on the credentials page keeps working; the other generated
 * secrets were lost with the Secret and get new random values, which the
 * timeline says. The Secret is created, never read: a 409 (it exists again,
 * a concurrent sweep or an operator restored it) keeps it and writes nothing.
 */
export async function recreateLostSecret(
  ctx: ProvisionerContext,
  record: InstanceRecord,
  live: Pick<InstanceStatus, "phase">,
): Promise<SecretRepair> {
  const ref = refOf(record);
  const secretValues = await secretValuesOf(ctx, record);
  const { created } = await ctx.cluster.recreateSecret({
    ...ref,
    app: appSpecOf(record.service),
    secretValues,
  });
  if (!created) return { outcome: "exists" };
  ctx.logger.warn(
    { instanceId: ref.instanceId },
    "reconcile: the instance's Secret was re-created",
  );
  // A timeline line, no event: the pods start on their own now (the kubelet retries),
  // and the provision deadline counts again from here; RUNNING follows as usual. When
  // an old pod still serves (only a surge pod was stuck), the status stays what it is.
  await ctx.db.transaction(async (tx) => {
    const locked = await loadRecord(tx, { instanceId: ref.instanceId }, { lock: true });
    if (!locked || !MEANT_TO_RUN.includes(locked.instance.status)) return;
    const serving = live.phase === "running" && locked.instance.status === "RUNNING";
    await recordTransition(
      tx,
      locked,
      {
        status: serving ? "RUNNING" : "PROVISIONING",
        message: SECRET_RECREATED_MESSAGE,
        ...(serving ? {} : { lastError: null }),
      },
      { source: ctx.source, now: ctx.now() },
    );
  });
  return { outcome: "recreated" };
}
