import {
  type AppliedInstance,
  type InstanceStatus,
  isClusterError,
  placementOf,
} from "@minispod/cluster";
import {
  appSpecOf,
  countFailures,
  type InstanceRecord,
  loadRecord,
  namespaceSpecOf,
  observedTransition,
  recordTransition,
  refOf,
  type Transition,
} from "@minispod/instances";
import { volumeOf } from "./backups";
import type { ProvisionerContext } from "./context";
import { secretValuesOf } from "./credentials";
import { type Desired, desiredOf } from "./desired";

/** What the cluster answered while acting on one desired state. */
type Acted =
  | {
      desired: "running";
      applied: AppliedInstance;
      live: InstanceStatus;
      /** The first volume is created from a backup's snapshot (a subscription from a backup). */
      fromBackup: boolean;
    }
  | { desired: "suspended" }
  | { desired: "deleted"; namespaceDeleted: boolean };

export interface ConvergeResult {
  outcome: "no-instance" | "nothing-to-do" | "converged";
  desired?: Desired;
  /** The instance's status after this call. */
  status?: string;
}

/** Most times the state may change under us before the caller is asked to retry. */
const MAX_ROUNDS = 3;

async function act(ctx: ProvisionerContext, record: InstanceRecord, desired: Desired) {
  const ref = refOf(record);
  switch (desired) {
    case "running": {
      await ctx.cluster.ensureNamespace(await namespaceSpecOf(ctx.db, ref.customerId));
      // The customer-facing credentials are generated here, kept sealed in the database
      // (the provisioner can never read a Secret back), and written into the Secret.
      const secretValues = await secretValuesOf(ctx, record);
      // The volume generation a restore switched it to, or generation 0 from a backup's
      // snapshot for a subscription from a backup (backups.ts).
      const spec = { ...ref, app: appSpecOf(record.service), secretValues };
      let volume = await volumeOf(ctx.db, ref.instanceId);
      let applied = await ctx.cluster.applyInstance({ ...spec, volume });
      // A restore records its new generation, then applies it: when it did so while this
      // applied the generation read before, reading again tells, and the restored one is put back.
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const now = await volumeOf(ctx.db, ref.instanceId);
        if (now.generation === volume.generation) break;
        volume = now;
        applied = await ctx.cluster.applyInstance({ ...spec, volume });
      }
      const live = await ctx.cluster.readStatus(ref);
      const fromBackup = volume.generation === 0 && Boolean(volume.dataSource);
      return { desired, applied, live, fromBackup } satisfies Acted;
    }
    case "suspended":
      try {
        await ctx.cluster.scaleInstance(ref, 0);
      } catch (error) {
        // Never provisioned (expired while PENDING) or already gone: nothing runs, as wanted.
        if (!isClusterError(error, "not_found")) throw error;
      }
      return { desired } satisfies Acted;
    case "deleted": {
      const { namespaceDeleted } = await ctx.cluster.deleteInstance(ref);
      return { desired, namespaceDeleted } satisfies Acted;
    }
    default:
      return undefined;
  }
}

/** The timeline steps from the instance's recorded status to what the cluster answered. */
function plan(ctx: ProvisionerContext, record: InstanceRecord, acted: Acted): Transition[] {
  const status = record.instance.status;
  switch (acted.desired) {
    case "running": {
      const steps: Transition[] = [];
      const placement = placementOf(acted.applied);
      let current = record.instance;
      const start = (t: Transition) => {
        steps.push(t);
        current = { ...current, status: t.status, statusChangedAt: ctx.now(), lastError: null };
      };
      if (status === "PENDING") {
        start({
          status: "PROVISIONING",
          message: acted.fromBackup
            ? "Creating the workload, its volume restored from your backup."
            : "Creating the workload.",
          event: "instance.provisioning",
          lastError: null,
          placement,
        });
      } else if (status === "SUSPENDED") {
        start({
          status: "PROVISIONING",
          message: "Resuming: the subscription is live again.",
          event: "instance.resumed",
          lastError: null,
          placement,
        });
      } else if (status === "DELETING") {
        // Only a cancellation sets DELETING, and then the subscription is not live; the
        // subscription moved on since (admin fix): provision again.
        start({
          status: "PROVISIONING",
          message: "Creating the workload.",
          event: "instance.provisioning",
          lastError: null,
          placement,
        });
      }
      const observed = observedTransition(current, acted.live, {
        now: ctx.now(),
        provisionTimeoutMs: ctx.provisionTimeoutMs,
      });
      if (observed) steps.push(observed);
      return steps;
    }
    case "suspended":
      return status === "SUSPENDED"
        ? []
        : [
            {
              status: "SUSPENDED",
              message: "Suspended: the subscription expired. Its data is kept.",
              event: "instance.suspended",
              lastError: null,
            },
          ];
    case "deleted":
      return status === "DELETED"
        ? []
        : [
            {
              status: "DELETED",
              message: acted.namespaceDeleted
                ? "Deleted, with its data and the customer's now empty namespace."
                : "Deleted, with its data.",
              event: "instance.deleted",
              lastError: null,
            },
          ];
  }
}

async function recordRefusal(
  ctx: ProvisionerContext,
  by: { subscriptionId: string } | { instanceId: string },
  detail: string,
): Promise<ConvergeResult> {
  ctx.logger.error({ detail, ...by }, "the cluster refused the workload");
  const refused: Transition = {
    status: "FAILED",
    message: "The cluster refused the workload; support has been told.",
    event: "instance.failed",
    lastError: "the cluster refused the workload",
  };
  const written = await ctx.db.transaction(async (tx) => {
    const locked = await loadRecord(tx, by, { lock: true });
    if (!locked) return undefined;
    if (locked.instance.status === "FAILED") return [];
    await recordTransition(tx, locked, refused, { source: ctx.source, now: ctx.now() });
    return [refused];
  });
  if (!written) return { outcome: "no-instance" };
  countFailures(ctx.metrics, written);
  return { outcome: "converged", desired: "running", status: "FAILED" };
}

/**
 * Brings the cluster and the instance's record to what its subscription
 * implies now (see desiredOf), then records the steps as a timeline with
 * their instance.* events. Safe to call any number of times, in any order,
 * concurrently: cluster writes converge, and the record is written under
 * the instance's row lock only if the subscription did not change while we
 * talked to the cluster (if it did, we act again on the new state).
 *
 * Cluster calls run outside any database transaction: an apply can take
 * seconds of retries, and local mode's PGlite has a single connection.
 */
export async function convergeInstance(
  ctx: ProvisionerContext,
  by: { subscriptionId: string } | { instanceId: string },
  options: { purged?: boolean } = {},
): Promise<ConvergeResult> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const record = await loadRecord(ctx.db, by);
    if (!record) return { outcome: "no-instance" };
    const desired = desiredOf(record, options);
    let acted: Acted | undefined;
    try {
      acted = await act(ctx, record, desired);
    } catch (error) {
      // A 400/422 will not pass on a retry: tell the customer instead of retrying for ever.
      if (desired === "running" && isClusterError(error, "invalid")) {
        return recordRefusal(ctx, by, error.message);
      }
      throw error;
    }
    if (!acted) return { outcome: "nothing-to-do", desired, status: record.instance.status };
    const outcome = await ctx.db.transaction(async (tx) => {
      const locked = await loadRecord(tx, by, { lock: true });
      if (!locked || desiredOf(locked, options) !== desired) return undefined;
      let current = locked;
      const steps = plan(ctx, locked, acted);
      for (const step of steps) {
        current = await recordTransition(tx, current, step, { source: ctx.source, now: ctx.now() });
      }
      return { written: current, changed: steps.length > 0, steps };
    });
    if (!outcome) continue;
    countFailures(ctx.metrics, outcome.steps);
    const { written, changed } = outcome;
    if (acted.desired === "deleted" && changed && !acted.namespaceDeleted) {
      // The customer's quota shrinks with the instance gone (if anything else is left).
      const spec = await namespaceSpecOf(ctx.db, written.subscription.userId);
      if (spec.plans.length > 0) await ctx.cluster.ensureNamespace(spec);
    }
    if (written.instance.status === "PROVISIONING") ctx.onProvisioning?.(written.instance.id);
    return { outcome: "converged", desired, status: written.instance.status };
  }
  throw new Error("the subscription kept changing while its instance was converged; retry");
}
