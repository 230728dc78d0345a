import type { InstancePhase } from "@minispod/cluster";
import { type Db, type InstanceStatus, instanceStatusEvents, serviceInstances } from "@minispod/db";
import { enqueueEvent, type Metrics } from "@minispod/shared";
import { eq } from "drizzle-orm";
import { finishNewInstanceRestore } from "./backups";
import { countFailures } from "./metrics";
import { type InstanceRecord, loadRecord } from "./spec";

export type InstanceEventType =
  | "instance.provisioning"
  | "instance.running"
  | "instance.failed"
  | "instance.suspended"
  | "instance.resumed"
  | "instance.deleted";

/** One step of an instance's timeline. */
export interface Transition {
  status: InstanceStatus;
  /** Plain words for the customer; goes into the timeline and the event. */
  message: string;
  /** Emitted through the outbox; omitted for steps that are only worth a timeline line. */
  event?: InstanceEventType | undefined;
  /** The problem in plain words (service_instances.last_error); null clears it. */
  lastError?: string | null | undefined;
  /** Where the instance answers, once the cluster has told us. */
  placement?: { namespace: string; objectName: string; host: string; url: string } | undefined;
}

export interface RecordOptions {
  /** The emitting function, the CloudEvent source. */
  source: string;
  now: Date;
}

/** "image could not be pulled" -> "Image could not be pulled." */
export const sentence = (words: string) =>
  `${words.charAt(0).toUpperCase()}${words.slice(1)}${/[.!?]$/.test(words) ? "" : "."}`;

/**
 * Writes one transition of a locked instance: its row, a timeline line and
 * (when the step has one) the instance.* event, all in the caller's
 * transaction. `status_changed_at` moves only when the status does, so the
 * provisioning deadline counts from when provisioning began.
 */
export async function recordTransition(
  tx: Db,
  record: InstanceRecord,
  transition: Transition,
  options: RecordOptions,
): Promise<InstanceRecord> {
  const changed = record.instance.status !== transition.status;
  const [instance] = await tx
    .update(serviceInstances)
    .set({
      status: transition.status,
      ...(transition.lastError !== undefined ? { lastError: transition.lastError } : {}),
      ...(changed ? { statusChangedAt: options.now } : {}),
      ...(transition.placement ?? {}),
    })
    .where(eq(serviceInstances.id, record.instance.id))
    .returning();
  await tx.insert(instanceStatusEvents).values({
    instanceId: record.instance.id,
    status: transition.status,
    message: transition.message,
    createdAt: options.now,
  });
  if (transition.event) {
    await enqueueEvent(tx, {
      type: transition.event,
      source: options.source,
      subject: record.instance.id,
      data: {
        userId: record.subscription.userId,
        instanceId: record.instance.id,
        subscriptionId: record.subscription.id,
        status: transition.status,
        url: instance!.url,
        message: transition.message,
        // The emails name the app; "running" also points to the credentials page.
        serviceName: record.service.name,
        credentials: (record.service.workload.credentials ?? []).map((c) => c.label),
      },
    });
  }
  if (changed) {
    await finishNewInstanceRestore(tx, {
      instanceId: record.instance.id,
      status: transition.status,
      message: transition.message,
      serviceName: record.service.name,
      source: options.source,
      now: options.now,
    });
  }
  return { ...record, instance: instance! };
}

/** Statuses in which the instance is meant to be up, so the cluster's word decides. */
export const MEANT_TO_RUN: readonly InstanceStatus[] = ["PROVISIONING", "RUNNING", "FAILED"];

export interface ObserveOptions {
  now: Date;
  /** A provision still starting after this long becomes FAILED with its reason. */
  provisionTimeoutMs: number;
}

/**
 * The step (if any) that what the cluster reports implies for an instance
 * meant to be up. Suspended, missing and deleted instances are the
 * provisioner's to converge, not an observation's to record.
 */
export function observedTransition(
  instance: Pick<typeof serviceInstances.$inferSelect, "status" | "lastError" | "statusChangedAt">,
  live: { phase: InstancePhase; reason: string },
  options: ObserveOptions,
): Transition | null {
  if (!MEANT_TO_RUN.includes(instance.status)) return null;
  switch (live.phase) {
    case "running":
      return instance.status === "RUNNING"
        ? null
        : { status: "RUNNING", message: "Running.", event: "instance.running", lastError: null };
    case "failed":
      if (instance.status === "FAILED" && instance.lastError === live.reason) return null;
      return {
        status: "FAILED",
        message: sentence(live.reason),
        event: instance.status === "FAILED" ? undefined : "instance.failed",
        lastError: live.reason,
      };
    case "starting": {
      if (instance.status === "RUNNING") {
        // A restart or a pod that went away: back to starting, a timeline line only.
        return { status: "PROVISIONING", message: sentence(live.reason), lastError: null };
      }
      if (instance.status !== "PROVISIONING") return null;
      const waited = options.now.getTime() - instance.statusChangedAt.getTime();
      if (waited >= options.provisionTimeoutMs) {
        return {
          status: "FAILED",
          message: sentence(`not ready after ${Math.round(waited / 1000)} s: ${live.reason}`),
          event: "instance.failed",
          lastError: live.reason === "starting" ? "did not become ready in time" : live.reason,
        };
      }
      // A reason worth telling ("volume pending") goes on the timeline once.
      if (live.reason !== "starting" && instance.lastError !== live.reason) {
        return { status: "PROVISIONING", message: sentence(live.reason), lastError: live.reason };
      }
      return null;
    }
    default:
      return null;
  }
}

/**
 * Records what the cluster reports about one instance (sweep and on-demand
 * reads share it). Locks the row and decides again under the lock, so
 * concurrent observers write one transition, not two.
 */
export async function syncObserved(
  db: Db,
  instanceId: string,
  live: { phase: InstancePhase; reason: string },
  options: ObserveOptions & { source: string; metrics?: Metrics | undefined },
): Promise<InstanceRecord | undefined> {
  let written: Transition | undefined;
  const record = await db.transaction(async (tx) => {
    const record = await loadRecord(tx, { instanceId }, { lock: true });
    if (!record) return undefined;
    const transition = observedTransition(record.instance, live, options);
    if (!transition) return record;
    const after = await recordTransition(tx, record, transition, options);
    written = transition;
    return after;
  });
  if (written) countFailures(options.metrics, [written]);
  return record;
}
