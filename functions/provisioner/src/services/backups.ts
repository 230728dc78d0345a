import {
  isClusterError,
  type SnapshotSupport,
  snapshotName,
  type VolumeSpec,
} from "@minispod/cluster";
import {
  backupRestores,
  backups,
  type Db,
  instanceVolumes,
  serviceCatalog,
  serviceInstances,
  subscriptions,
} from "@minispod/db";
import {
  appSpecOf,
  countBackupFailures,
  countPreflightRefusal,
  type InstanceRecord,
  instanceVolumeOf,
  loadRecord,
  namespaceSpecOf,
  recordTransition,
  refOf,
} from "@minispod/instances";
import { type EventData, enqueueEvent } from "@minispod/shared";
import { and, asc, desc, eq, inArray, isNotNull, isNull, lte, ne, sql } from "drizzle-orm";
import type { ProvisionerContext } from "./context";
import { secretValuesOf } from "./credentials";
import { desiredOf } from "./desired";
import { createPoller } from "./follow";

type BackupRow = typeof backups.$inferSelect;

/** What the backups part of the provisioner needs beyond the shared context. */
export interface BackupSettings {
  /** BACKUP_PURGE_GRACE_DAYS: how long the newest backup of a purged instance is kept. */
  purgeGraceDays: number;
  /** BACKUP_TIMEOUT in ms: a snapshot not ready by then is FAILED. */
  timeoutMs: number;
  /** Called for a backup left IN_PROGRESS, to watch it until it is ready (createBackupFollower). */
  follow?: ((backupId: string) => void) | undefined;
}

const DAY_MS = 86_400_000;
const PERIOD_MS = { hourly: 3_600_000, daily: DAY_MS, weekly: 7 * DAY_MS } as const;
/** Most backups one sweep step handles; the rest wait for the next sweep. */
const BATCH = 100;

/** The volume an instance mounts now (generation 0 unless a restore moved it). */
export async function volumeOf(db: Db, instanceId: string): Promise<VolumeSpec> {
  return (await instanceVolumeOf(db, instanceId)).volume;
}

const backupData = (row: BackupRow, serviceName?: string): EventData<"backup.succeeded"> => ({
  userId: row.userId,
  backupId: row.id,
  instanceId: row.instanceId,
  kind: row.kind,
  status: row.status,
  sizeBytes: row.sizeBytes,
  reason: row.error,
  ...(serviceName ? { serviceName } : {}),
});

async function serviceNameOf(db: Db, instanceId: string) {
  return (await loadRecord(db, { instanceId }))?.service.name;
}

/**
 * Moves a backup from one status to the next and writes its event, in one
 * transaction; only if it still is in `from` (a replay or a racing sweep
 * finds nothing to do). Returns the updated row, or undefined.
 */
async function transition(
  ctx: ProvisionerContext,
  row: BackupRow,
  from: BackupRow["status"][],
  set: Partial<BackupRow>,
  event?: "backup.succeeded" | "backup.failed" | "backup.deleted",
) {
  const serviceName = event ? await serviceNameOf(ctx.db, row.instanceId) : undefined;
  const updated = await ctx.db.transaction(async (tx) => {
    const [next] = await tx
      .update(backups)
      .set(set)
      .where(and(eq(backups.id, row.id), inArray(backups.status, from)))
      .returning();
    if (!next) return undefined;
    if (event) {
      await enqueueEvent(tx, {
        type: event,
        source: ctx.source,
        subject: next.id,
        data: backupData(next, serviceName),
      });
    }
    return next;
  });
  if (updated && event === "backup.failed") countBackupFailures(ctx.metrics);
  return updated;
}

const fail = (ctx: ProvisionerContext, row: BackupRow, reason: string) =>
  transition(
    ctx,
    row,
    ["PENDING", "IN_PROGRESS"],
    { status: "FAILED", error: reason },
    "backup.failed",
  );

/**
 * Takes the snapshot of a PENDING backup (`backup.requested`, or the
 * schedule): the preflight again (the cluster may have changed), then the
 * VolumeSnapshot; IN_PROGRESS until the sweep (or this call, when the
 * driver is quick) sees it ready.
 */
export async function takeBackup(
  ctx: ProvisionerContext,
  backupId: string,
  support?: SnapshotSupport,
): Promise<{ outcome: string; status?: string }> {
  const [row] = await ctx.db.select().from(backups).where(eq(backups.id, backupId));
  if (!row) return { outcome: "no-backup" };
  if (row.status !== "PENDING" && row.status !== "IN_PROGRESS") {
    return { outcome: "nothing-to-do", status: row.status };
  }
  const ref = { customerId: row.userId, instanceId: row.instanceId };
  const checked = support ?? (await ctx.cluster.snapshotSupport());
  if (!checked.supported) {
    countPreflightRefusal(ctx.metrics, checked);
    ctx.logger.error({ backupId, storageClass: checked.storageClass }, checked.reason);
    await fail(ctx, row, `The storage cannot take snapshots (${checked.reason}).`);
    return { outcome: "refused", status: "FAILED" };
  }
  try {
    await ctx.cluster.createSnapshot({
      ...ref,
      name: row.snapshotName,
      volumeGeneration: row.volumeGeneration,
      snapshotClass: checked.snapshotClass,
    });
  } catch (error) {
    if (isClusterError(error) && !error.retryable) {
      ctx.logger.error({ err: error, backupId }, "the cluster refused the snapshot");
      await fail(ctx, row, "The cluster refused to take the snapshot; support has been told.");
      return { outcome: "refused", status: "FAILED" };
    }
    throw error;
  }
  const started =
    row.status === "PENDING"
      ? await transition(ctx, row, ["PENDING"], { status: "IN_PROGRESS" })
      : row;
  if (!started) return { outcome: "nothing-to-do" };
  const result = await followBackup(ctx, started);
  if (result.status === "IN_PROGRESS") backupSettings(ctx).follow?.(backupId);
  return result;
}

/**
 * Watches backups left IN_PROGRESS, reading their snapshot every
 * `intervalMs` (PROVISION_POLL_MS) until it is ready or failed, so a
 * customer sees READY within seconds rather than at the next sweep. Best
 * effort, like the provision follower: the backups sweep remains the guarantee.
 */
export function createBackupFollower(
  ctx: ProvisionerContext,
  intervalMs: number,
  afterChange: () => void,
) {
  return createPoller({
    intervalMs,
    logger: ctx.logger,
    idField: "backupId",
    what: "a backup",
    check: async (backupId) => {
      const [row] = await ctx.db.select().from(backups).where(eq(backups.id, backupId));
      if (row?.status !== "IN_PROGRESS") return false;
      const result = await followBackup(ctx, row);
      if (result.status === "IN_PROGRESS") return true;
      afterChange();
      return false;
    },
  });
}

/** Reads an IN_PROGRESS backup's snapshot: READY with its size, FAILED, or still being taken. */
async function followBackup(ctx: ProvisionerContext, row: BackupRow) {
  const ref = { customerId: row.userId, instanceId: row.instanceId, name: row.snapshotName };
  const snapshot = await ctx.cluster.readSnapshot(ref);
  switch (snapshot.phase) {
    case "ready": {
      await transition(
        ctx,
        row,
        ["IN_PROGRESS"],
        { status: "READY", sizeBytes: snapshot.sizeBytes, readyAt: ctx.now(), error: null },
        "backup.succeeded",
      );
      return { outcome: "ready", status: "READY" };
    }
    case "failed":
    case "missing":
      await fail(
        ctx,
        row,
        snapshot.phase === "missing"
          ? "The snapshot disappeared before it was ready."
          : snapshot.reason,
      );
      return { outcome: "failed", status: "FAILED" };
    default:
      if (ctx.now().getTime() - row.createdAt.getTime() > backupSettings(ctx).timeoutMs) {
        await ctx.cluster.deleteSnapshot(ref);
        await fail(ctx, row, "The snapshot was not ready in time.");
        return { outcome: "timed-out", status: "FAILED" };
      }
      return { outcome: "in-progress", status: "IN_PROGRESS" };
  }
}

const settingsOf = new WeakMap<ProvisionerContext, BackupSettings>();
const backupSettings = (ctx: ProvisionerContext): BackupSettings =>
  settingsOf.get(ctx) ?? { purgeGraceDays: 30, timeoutMs: 3_600_000 };

/** Gives the context its backup settings (BACKUP_PURGE_GRACE_DAYS, BACKUP_TIMEOUT). */
export function configureBackups(ctx: ProvisionerContext, settings: BackupSettings) {
  settingsOf.set(ctx, settings);
}

/**
 * Deletes a backup the customer asked to go (DELETING): its snapshot, then
 * DELETED with `backup.deleted`. The last copy of a purged instance gone
 * means its data is: `backup.purged`, and the namespace goes if it is empty.
 */
export async function deleteRequestedBackup(ctx: ProvisionerContext, backupId: string) {
  const [row] = await ctx.db.select().from(backups).where(eq(backups.id, backupId));
  if (row?.status !== "DELETING") return { outcome: "nothing-to-do", status: row?.status };
  await removeBackup(ctx, row, ["DELETING"], "backup.deleted");
  return { outcome: "deleted", status: "DELETED" };
}

async function removeBackup(
  ctx: ProvisionerContext,
  row: BackupRow,
  from: BackupRow["status"][],
  event?: "backup.deleted",
) {
  await ctx.cluster.deleteSnapshot({
    customerId: row.userId,
    instanceId: row.instanceId,
    name: row.snapshotName,
  });
  const removed = await transition(
    ctx,
    row,
    from,
    { status: "DELETED", deletedAt: ctx.now() },
    event,
  );
  if (removed) await afterLastCopy(ctx, row);
}

/** When a purged instance's last backup is gone: `backup.purged`, and its empty namespace goes. */
async function afterLastCopy(ctx: ProvisionerContext, row: BackupRow) {
  const [instance] = await ctx.db
    .select({ status: serviceInstances.status })
    .from(serviceInstances)
    .where(eq(serviceInstances.id, row.instanceId));
  if (instance?.status !== "DELETED") return;
  const [left] = await ctx.db
    .select({ n: sql<number>`count(*)::int` })
    .from(backups)
    .where(and(eq(backups.instanceId, row.instanceId), ne(backups.status, "DELETED")));
  if ((left?.n ?? 0) > 0) return;
  await ctx.cluster.deleteNamespaceIfEmpty(row.userId);
  const serviceName = await serviceNameOf(ctx.db, row.instanceId);
  await ctx.db.transaction(async (tx) => {
    await enqueueEvent(tx, {
      type: "backup.purged",
      source: ctx.source,
      subject: row.instanceId,
      data: {
        userId: row.userId,
        instanceId: row.instanceId,
        purgedAt: ctx.now().toISOString(),
        ...(serviceName ? { serviceName } : {}),
      },
    });
  });
}

/** Instances whose catalog entry schedules backups and that hold a volume now. */
async function scheduledInstances(db: Db) {
  return db
    .select({
      instanceId: serviceInstances.id,
      userId: subscriptions.userId,
      workload: serviceCatalog.workload,
      last: sql<Date | null>`(select max(b.created_at) from backups b
        where b.instance_id = ${serviceInstances.id} and b.kind = 'SCHEDULED')`.mapWith(
        (v: string | Date | null) => (v === null ? null : new Date(v)),
      ),
    })
    .from(serviceInstances)
    .innerJoin(subscriptions, eq(subscriptions.id, serviceInstances.subscriptionId))
    .innerJoin(serviceCatalog, eq(serviceCatalog.id, subscriptions.serviceId))
    .where(
      and(
        inArray(serviceInstances.status, ["RUNNING", "SUSPENDED"]),
        isNotNull(serviceCatalog.storage),
        sql`${serviceCatalog.workload} ? 'backups'`,
      ),
    );
}

export interface BackupSweepResult {
  scheduled: number;
  followed: number;
  rotated: number;
  retained: number;
  purged: number;
  volumesDeleted: number;
  refused: boolean;
}

/**
 * The backups sweep (PingSource -> POST /cron/backups): takes the scheduled
 * backups that are due, follows snapshots being taken, keeps the newest N
 * scheduled ones, and applies the purge grace period.
 */
export async function sweepBackups(ctx: ProvisionerContext): Promise<BackupSweepResult> {
  const result: BackupSweepResult = {
    scheduled: 0,
    followed: 0,
    rotated: 0,
    retained: 0,
    purged: 0,
    volumesDeleted: 0,
    refused: false,
  };
  const now = ctx.now();

  // 1. Due scheduled backups (preflight once per sweep).
  const due = (await scheduledInstances(ctx.db)).filter((i) => {
    const plan = i.workload.backups;
    if (!plan) return false;
    return i.last === null || now.getTime() - i.last.getTime() >= PERIOD_MS[plan.schedule];
  });
  if (due.length > 0) {
    const support = await ctx.cluster.snapshotSupport();
    if (!support.supported) {
      countPreflightRefusal(ctx.metrics, support);
      ctx.logger.error(
        { storageClass: support.storageClass, due: due.length },
        `scheduled backups skipped: ${support.reason}`,
      );
      result.refused = true;
    } else {
      for (const instance of due.slice(0, BATCH)) {
        const id = await scheduleOne(ctx, instance.instanceId, instance.userId);
        if (!id) continue;
        result.scheduled++;
        await takeBackup(ctx, id, support).catch((error: unknown) =>
          ctx.logger.warn({ err: error, backupId: id }, "scheduled backup not taken yet"),
        );
      }
    }
  }

  // 2. Snapshots being taken.
  const inProgress = await ctx.db
    .select()
    .from(backups)
    .where(eq(backups.status, "IN_PROGRESS"))
    .orderBy(asc(backups.createdAt))
    .limit(BATCH);
  for (const row of inProgress) {
    await followBackup(ctx, row);
    result.followed++;
  }

  // 3. Keep the newest N scheduled backups of live instances.
  for (const instance of await scheduledInstances(ctx.db)) {
    const keep = instance.workload.backups?.keep;
    if (!keep) continue;
    const old = await ctx.db
      .select()
      .from(backups)
      .where(
        and(
          eq(backups.instanceId, instance.instanceId),
          eq(backups.kind, "SCHEDULED"),
          inArray(backups.status, ["READY", "FAILED"]),
        ),
      )
      .orderBy(desc(backups.createdAt))
      .offset(keep);
    for (const row of old) {
      await removeBackup(ctx, row, ["READY", "FAILED"]);
      result.rotated++;
    }
  }

  // 3b. Of the copies of volumes restores replaced, the newest ready one per instance is kept
  // (newest: of the latest generation, as generations only grow).
  const olderCopies = await ctx.db
    .select()
    .from(backups)
    .where(
      and(
        eq(backups.kind, "PRE_RESTORE"),
        inArray(backups.status, ["READY", "FAILED"]),
        sql`exists (select 1 from backups n where n.instance_id = ${backups.instanceId}
          and n.kind = 'PRE_RESTORE' and n.status = 'READY'
          and n.volume_generation > ${backups.volumeGeneration})`,
      ),
    )
    .limit(BATCH);
  for (const row of olderCopies) {
    await removeBackup(ctx, row, ["READY", "FAILED"]);
    result.rotated++;
  }

  // 4. Purged instances: the newest ready backup is kept for the grace period, the rest go.
  // Not after an immediate cancellation: the customer asked for the data to go with the app.
  const graceMs = backupSettings(ctx).purgeGraceDays * DAY_MS;
  const orphaned = await ctx.db
    .select({
      backup: backups,
      deletedAt: serviceInstances.statusChangedAt,
      subscription: subscriptions.status,
    })
    .from(backups)
    .innerJoin(serviceInstances, eq(serviceInstances.id, backups.instanceId))
    .innerJoin(subscriptions, eq(subscriptions.id, serviceInstances.subscriptionId))
    .where(
      and(
        eq(serviceInstances.status, "DELETED"),
        inArray(backups.status, ["READY", "FAILED"]),
        isNull(backups.retainUntil),
      ),
    )
    .orderBy(desc(backups.createdAt))
    .limit(BATCH);
  const keptFor = new Set<string>();
  for (const { backup, deletedAt, subscription } of orphaned) {
    const [retained] = await ctx.db
      .select({ id: backups.id })
      .from(backups)
      .where(and(eq(backups.instanceId, backup.instanceId), isNotNull(backups.retainUntil)))
      .limit(1);
    const askedForDeletion = subscription === "CANCELLED";
    if (
      backup.status === "READY" &&
      !askedForDeletion &&
      !retained &&
      !keptFor.has(backup.instanceId)
    ) {
      keptFor.add(backup.instanceId);
      await ctx.db
        .update(backups)
        .set({ retainUntil: new Date(deletedAt.getTime() + graceMs) })
        .where(eq(backups.id, backup.id));
      result.retained++;
    } else {
      await removeBackup(ctx, backup, ["READY", "FAILED"]);
    }
  }
  const expired = await ctx.db
    .select()
    .from(backups)
    .where(and(eq(backups.status, "READY"), lte(backups.retainUntil, now)))
    .limit(BATCH);
  for (const row of expired) {
    await removeBackup(ctx, row, ["READY"]);
    result.purged++;
  }

  // 5. Volumes a restore switched away from, once the instance runs on the restored one: first
  // kept as a PRE_RESTORE backup (nothing writes to that claim any more), then deleted.
  const superseded = await ctx.db
    .select({ volume: instanceVolumes, userId: subscriptions.userId })
    .from(instanceVolumes)
    .innerJoin(serviceInstances, eq(serviceInstances.id, instanceVolumes.instanceId))
    .innerJoin(subscriptions, eq(subscriptions.id, serviceInstances.subscriptionId))
    .where(
      and(isNotNull(instanceVolumes.previousGeneration), eq(serviceInstances.status, "RUNNING")),
    )
    .limit(BATCH);
  for (const { volume, userId } of superseded) {
    const ref = { customerId: userId, instanceId: volume.instanceId };
    const previous = volume.previousGeneration as number;
    const copy = await keepReplacedVolume(ctx, ref, previous);
    if (copy === "taking") continue;
    if (copy === "failed") {
      // The claim stays (and its room in the quota) until the customer deletes the failed copy.
      ctx.logger.error(
        { instanceId: volume.instanceId, generation: previous },
        "the copy of a volume a restore replaced failed; the volume is kept",
      );
      continue;
    }
    const { gone } = await ctx.cluster.deleteVolume(ref, previous);
    // Still terminating (its pod is going): it counts in the quota until the next sweep sees it gone.
    if (!gone) continue;
    await ctx.db
      .update(instanceVolumes)
      .set({ previousGeneration: null })
      .where(eq(instanceVolumes.instanceId, volume.instanceId));
    await ctx.cluster.ensureNamespace(await namespaceSpecOf(ctx.db, userId));
    result.volumesDeleted++;
  }
  return result;
}

/**
 * The PRE_RESTORE backup of a volume generation a restore replaced: asked for
 * (and its snapshot started) on the first call, then followed like any
 * backup by the sweep. "kept" once it is READY, or once the customer deleted it.
 */
async function keepReplacedVolume(
  ctx: ProvisionerContext,
  ref: { customerId: string; instanceId: string },
  generation: number,
): Promise<"kept" | "taking" | "failed"> {
  // Under the instance's lock: two sweeps at once ask for one copy, not two.
  const { copy, created } = await ctx.db.transaction(async (tx) => {
    await loadRecord(tx, { instanceId: ref.instanceId }, { lock: true });
    const [found] = await tx
      .select()
      .from(backups)
      .where(
        and(
          eq(backups.instanceId, ref.instanceId),
          eq(backups.kind, "PRE_RESTORE"),
          eq(backups.volumeGeneration, generation),
        ),
      )
      .orderBy(desc(backups.createdAt))
      .limit(1);
    if (found) return { copy: found, created: false };
    const id = crypto.randomUUID();
    const [row] = await tx
      .insert(backups)
      .values({
        id,
        instanceId: ref.instanceId,
        userId: ref.customerId,
        kind: "PRE_RESTORE",
        snapshotName: snapshotName(id),
        volumeGeneration: generation,
        createdAt: ctx.now(),
      })
      .returning();
    return { copy: row as BackupRow, created: true };
  });
  if (created || copy.status === "PENDING") {
    const taken = await takeBackup(ctx, copy.id).catch((error: unknown) => {
      ctx.logger.warn({ err: error, backupId: copy.id }, "copy of a replaced volume not taken yet");
      return undefined;
    });
    return taken?.status === "READY" ? "kept" : taken?.status === "FAILED" ? "failed" : "taking";
  }
  switch (copy.status) {
    case "READY":
    case "DELETING":
    case "DELETED":
      return "kept";
    case "FAILED":
      return "failed";
    default:
      return "taking";
  }
}

/** A PENDING scheduled backup of the instance, unless one is already being taken. */
async function scheduleOne(ctx: ProvisionerContext, instanceId: string, userId: string) {
  return ctx.db.transaction(async (tx) => {
    const locked = await loadRecord(tx, { instanceId }, { lock: true });
    if (!locked) return undefined;
    const busy = await tx
      .select({ id: backups.id })
      .from(backups)
      .where(
        and(
          eq(backups.instanceId, instanceId),
          inArray(backups.status, ["PENDING", "IN_PROGRESS"]),
        ),
      )
      .limit(1);
    if (busy.length > 0) return undefined;
    const volume = await volumeOf(tx, instanceId);
    const id = crypto.randomUUID();
    const [row] = await tx
      .insert(backups)
      .values({
        id,
        instanceId,
        userId,
        kind: "SCHEDULED",
        snapshotName: snapshotName(id),
        volumeGeneration: volume.generation,
        createdAt: ctx.now(),
      })
      .returning();
    return row?.id;
  });
}

type RestoreRow = typeof backupRestores.$inferSelect;

async function finishRestore(
  ctx: ProvisionerContext,
  restore: RestoreRow,
  backup: BackupRow,
  target: InstanceRecord,
  outcome: { ok: true; generation: number; previous: number } | { ok: false; reason: string },
) {
  const type = outcome.ok ? "backup.restored" : "backup.restore_failed";
  await ctx.db.transaction(async (tx) => {
    const [done] = await tx
      .update(backupRestores)
      .set({
        status: outcome.ok ? "DONE" : "FAILED",
        error: outcome.ok ? null : outcome.reason,
        finishedAt: ctx.now(),
      })
      .where(and(eq(backupRestores.id, restore.id), eq(backupRestores.status, "PENDING")))
      .returning();
    if (!done) return;
    if (outcome.ok) {
      await tx
        .insert(instanceVolumes)
        .values({
          instanceId: target.instance.id,
          generation: outcome.generation,
          sourceSnapshot: backup.snapshotName,
          previousGeneration: outcome.previous,
        })
        .onConflictDoUpdate({
          target: instanceVolumes.instanceId,
          set: {
            generation: outcome.generation,
            sourceSnapshot: backup.snapshotName,
            previousGeneration: outcome.previous,
          },
        });
    }
    await enqueueEvent(tx, {
      type,
      source: ctx.source,
      subject: restore.id,
      data: {
        userId: backup.userId,
        restoreId: restore.id,
        backupId: backup.id,
        instanceId: backup.instanceId,
        targetInstanceId: target.instance.id,
        target: restore.target,
        serviceName: target.service.name,
        reason: outcome.ok ? null : outcome.reason,
      },
    });
  });
}

/**
 * Restores a backup into its target instance without ever losing the data
 * it has: the target is suspended and a new volume generation is created
 * from the snapshot beside the current one (the quota is raised for the
 * overlap); the Deployment is switched to it and the app resumes; the
 * previous volume is deleted by the sweep only once the instance runs on the
 * restored one. If creating the new one fails, it is deleted and the instance
 * is put back on its previous volume, as it was.
 */
export async function restoreIntoInstance(ctx: ProvisionerContext, restoreId: string) {
  const [restore] = await ctx.db
    .select()
    .from(backupRestores)
    .where(eq(backupRestores.id, restoreId));
  if (restore?.status !== "PENDING") {
    return { outcome: "nothing-to-do", status: restore?.status };
  }
  const [backup] = await ctx.db.select().from(backups).where(eq(backups.id, restore.backupId));
  const target = await loadRecord(ctx.db, { instanceId: restore.targetInstanceId });
  if (!backup || !target) return { outcome: "nothing-to-do" };
  const { volume: current, replaced } = await instanceVolumeOf(ctx.db, target.instance.id);
  // One replaced volume at a time (the API refuses it too): a second one would be left behind.
  const refusal =
    backup.status !== "READY"
      ? "The backup is no longer available."
      : desiredOf(target) === "deleted"
        ? "The instance is being deleted."
        : replaced !== null
          ? "The last restore into this instance has not settled yet; try again once it runs."
          : undefined;
  if (refusal) {
    await finishRestore(ctx, restore, backup, target, { ok: false, reason: refusal });
    return { outcome: "refused", status: "FAILED" };
  }
  const ref = refOf(target);
  const app = appSpecOf(target.service);
  const live = desiredOf(target) === "running";
  const next = { generation: current.generation + 1, dataSource: backup.snapshotName };
  const secretValues = await secretValuesOf(ctx, target);
  try {
    // The restore is PENDING, so the quota has room for both volumes while they overlap.
    await ctx.cluster.ensureNamespace(await namespaceSpecOf(ctx.db, ref.customerId));
    await ctx.cluster.applyInstance({ ...ref, app, secretValues, suspended: true, volume: next });
  } catch (error) {
    ctx.logger.error({ err: error, restoreId }, "restore failed; the instance keeps its volume");
    await ctx.cluster.deleteVolume(ref, next.generation).catch(() => undefined);
    await ctx.cluster.applyInstance({
      ...ref,
      app,
      secretValues,
      suspended: !live,
      volume: current,
    });
    if (isClusterError(error) && error.retryable) throw error;
    await finishRestore(ctx, restore, backup, target, {
      ok: false,
      reason: "The cluster refused the restored volume; the instance kept its data.",
    });
    await ctx.cluster.ensureNamespace(await namespaceSpecOf(ctx.db, ref.customerId));
    return { outcome: "failed", status: "FAILED" };
  }
  await finishRestore(ctx, restore, backup, target, {
    ok: true,
    generation: next.generation,
    previous: current.generation,
  });
  // The previous volume stays until the instance runs on the restored one (the sweep deletes it).
  await ctx.cluster.applyInstance({ ...ref, app, secretValues, suspended: !live, volume: next });
  if (live) {
    await ctx.db.transaction(async (tx) => {
      const locked = await loadRecord(tx, { instanceId: ref.instanceId }, { lock: true });
      if (!locked) return;
      await recordTransition(
        tx,
        locked,
        {
          status: "PROVISIONING",
          message: `Restored from the backup of ${backup.createdAt.toISOString().slice(0, 16).replace("T", " ")} UTC; starting again.`,
          lastError: null,
        },
        { source: ctx.source, now: ctx.now() },
      );
    });
    ctx.onProvisioning?.(ref.instanceId);
  }
  return { outcome: "restored", status: "DONE" };
}
