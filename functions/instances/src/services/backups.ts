import { randomUUID } from "node:crypto";
import { isClusterError, snapshotName } from "@minispod/cluster";
import { backupRestores, backups, instanceVolumes, isUniqueViolation } from "@minispod/db";
import {
  backupDto,
  backupsUnsupportedDetail,
  countPreflightRefusal,
  instanceVolumeOf,
  listBackupRows,
  loadRecord,
} from "@minispod/instances";
import { AppError, enqueueEvent, keyset, type PageQuery, recordAudit } from "@minispod/shared";
import { and, eq, inArray } from "drizzle-orm";
import type { Actor, InstancesContext } from "./context";
import { instanceNotFound, reachableInstance } from "./read";

/** Statuses in which the instance has a volume in the cluster to copy or to restore into. */
const HAS_VOLUME = ["RUNNING", "SUSPENDED", "FAILED"] as const;

const backupNotFound = () => new AppError("NOT_FOUND", { detail: "No backup with this id." });

/**
 * Only the owner backs up, restores or deletes: an administrator sees the
 * backups (here and in the admin views) but the data is the customer's.
 */
async function ownedRecord(ctx: InstancesContext, actor: Actor, id: string) {
  const row = await reachableInstance(ctx, actor, id);
  if (row.userId !== actor.id) {
    throw new AppError("FORBIDDEN", {
      detail: "Only the instance's owner can back it up, restore or delete its backups.",
    });
  }
  const record = await loadRecord(ctx.db, { instanceId: id });
  if (!record) throw instanceNotFound();
  return record;
}

async function loadBackup(ctx: InstancesContext, instanceId: string, backupId: string) {
  const [row] = await ctx.db
    .select()
    .from(backups)
    .where(and(eq(backups.id, backupId), eq(backups.instanceId, instanceId)));
  if (!row || row.status === "DELETED") throw backupNotFound();
  return row;
}

/** The cluster could not be asked: a retry may fare better. */
function clusterUnavailable(ctx: InstancesContext, error: unknown): never {
  if (isClusterError(error)) {
    ctx.logger.warn({ err: error }, "backups preflight: the cluster did not answer");
    throw new AppError("SERVICE_UNAVAILABLE", {
      detail: "The cluster is unavailable; retry later.",
    });
  }
  throw error;
}

/**
 * The preflight: refuses (422, in plain words) where the instances' storage
 * class has no VolumeSnapshotClass for its driver, and counts the refusal for
 * the operators' alert.
 */
async function preflight(ctx: InstancesContext, instanceId: string) {
  const support = await ctx.cluster
    .snapshotSupport()
    .catch((e: unknown) => clusterUnavailable(ctx, e));
  if (!support.supported) {
    countPreflightRefusal(ctx.metrics, support);
    ctx.logger.error(
      { instanceId, storageClass: support.storageClass, provisioner: support.provisioner },
      `backups refused: ${support.reason}`,
    );
    throw new AppError("UNPROCESSABLE", { detail: backupsUnsupportedDetail(support) });
  }
  return support;
}

export async function listBackups({
  ctx,
  input,
}: {
  ctx: InstancesContext;
  input: { actor: Actor; id: string; page: PageQuery };
}) {
  const row = await reachableInstance(ctx, input.actor, input.id);
  return listBackupRows(ctx.db, { instanceId: row.id }, input.page);
}

export async function showBackup({
  ctx,
  input,
}: {
  ctx: InstancesContext;
  input: { actor: Actor; id: string; backupId: string };
}) {
  const row = await reachableInstance(ctx, input.actor, input.id);
  return backupDto(await loadBackup(ctx, row.id, input.backupId));
}

/**
 * An on-demand backup: checked (the app keeps data, the instance has a
 * volume, the storage can snapshot, none is being taken), recorded PENDING
 * with `backup.requested`; the provisioner takes the VolumeSnapshot.
 */
export async function requestBackup({
  ctx,
  input,
}: {
  ctx: InstancesContext;
  input: { actor: Actor; id: string };
}) {
  const record = await ownedRecord(ctx, input.actor, input.id);
  if (!record.service.storage) {
    throw new AppError("CONFLICT", {
      detail: "This app keeps no data, so there is nothing to back up.",
    });
  }
  if (!(HAS_VOLUME as readonly string[]).includes(record.instance.status)) {
    throw new AppError("CONFLICT", {
      detail: `An instance that is ${record.instance.status.toLowerCase()} has no volume to back up.`,
    });
  }
  await preflight(ctx, record.instance.id);
  const id = randomUUID();
  const row = await ctx.db.transaction(async (tx) => {
    const locked = await loadRecord(tx, { instanceId: record.instance.id }, { lock: true });
    if (!locked) throw instanceNotFound();
    const busy = await tx
      .select({ id: backups.id })
      .from(backups)
      .where(
        and(
          eq(backups.instanceId, locked.instance.id),
          inArray(backups.status, ["PENDING", "IN_PROGRESS"]),
        ),
      )
      .limit(1);
    if (busy.length > 0) {
      throw new AppError("CONFLICT", {
        detail: "A backup of this instance is being taken; wait for it to finish.",
      });
    }
    const [volume] = await tx
      .select({ generation: instanceVolumes.generation })
      .from(instanceVolumes)
      .where(eq(instanceVolumes.instanceId, locked.instance.id));
    const [inserted] = await tx
      .insert(backups)
      .values({
        id,
        instanceId: locked.instance.id,
        userId: locked.subscription.userId,
        kind: "ON_DEMAND",
        snapshotName: snapshotName(id),
        volumeGeneration: volume?.generation ?? 0,
        createdAt: ctx.now(),
      })
      .returning();
    const dto = backupDto(inserted!);
    await enqueueEvent(tx, {
      type: "backup.requested",
      source: ctx.source,
      subject: id,
      data: {
        userId: dto.userId,
        backupId: id,
        instanceId: dto.instanceId,
        kind: dto.kind,
        status: dto.status,
        serviceName: locked.service.name,
      },
    });
    await recordAudit(tx, {
      actor: input.actor,
      action: "backup.requested",
      resourceType: "backup",
      resourceId: id,
      ownerId: dto.userId,
      metadata: { instanceId: dto.instanceId },
      at: ctx.now(),
    });
    return dto;
  });
  return row;
}

/**
 * Asks for a backup to go: DELETING, `backup.deletion_requested`; the
 * provisioner deletes its snapshot. This is also how a customer has the
 * backup kept after a purge deleted before its grace period ends.
 */
export async function deleteBackup({
  ctx,
  input,
}: {
  ctx: InstancesContext;
  input: { actor: Actor; id: string; backupId: string };
}) {
  const record = await ownedRecord(ctx, input.actor, input.id);
  const backup = await loadBackup(ctx, record.instance.id, input.backupId);
  if (backup.status === "PENDING" || backup.status === "IN_PROGRESS") {
    throw new AppError("CONFLICT", {
      detail: "This backup is still being taken; delete it once it is ready.",
    });
  }
  if (backup.status === "DELETING") return backupDto(backup);
  // A new instance subscribed from it is created from its snapshot: deleting it now would
  // leave that instance's claim waiting for a snapshot that is gone.
  const [restoring] = await ctx.db
    .select({ id: backupRestores.id })
    .from(backupRestores)
    .where(and(eq(backupRestores.backupId, backup.id), eq(backupRestores.status, "PENDING")))
    .limit(1);
  if (restoring) {
    throw new AppError("CONFLICT", {
      detail: "This backup is being restored; delete it once the restore has finished.",
    });
  }
  return ctx.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(backups)
      .set({ status: "DELETING" })
      .where(and(eq(backups.id, backup.id), eq(backups.status, backup.status)))
      .returning();
    if (!updated) {
      throw new AppError("CONFLICT", { detail: "The backup changed meanwhile; read it again." });
    }
    const dto = backupDto(updated);
    await enqueueEvent(tx, {
      type: "backup.deletion_requested",
      source: ctx.source,
      subject: backup.id,
      data: {
        userId: dto.userId,
        backupId: dto.id,
        instanceId: dto.instanceId,
        kind: dto.kind,
        status: dto.status,
        serviceName: record.service.name,
      },
    });
    await recordAudit(tx, {
      actor: input.actor,
      action: "backup.deletion_requested",
      resourceType: "backup",
      resourceId: dto.id,
      ownerId: dto.userId,
      metadata: { instanceId: dto.instanceId },
      at: ctx.now(),
    });
    return dto;
  });
}

export function restoreDto(row: typeof backupRestores.$inferSelect) {
  return {
    id: row.id,
    backupId: row.backupId,
    targetInstanceId: row.targetInstanceId,
    target: row.target,
    status: row.status,
    error: row.error,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

/**
 * Restores a READY backup into its own instance, or (`targetInstanceId`)
 * into another instance of the same app the customer owns — a new
 * subscription's, which is how a backup becomes a new instance, also after
 * its own instance was purged. The provisioner suspends the target, creates
 * the next volume generation from the snapshot, switches to it and resumes;
 * the current volume is deleted only once that worked.
 */
export async function restoreBackup({
  ctx,
  input,
}: {
  ctx: InstancesContext;
  input: { actor: Actor; id: string; backupId: string; targetInstanceId?: string | undefined };
}) {
  const source = await ownedRecord(ctx, input.actor, input.id);
  const backup = await loadBackup(ctx, source.instance.id, input.backupId);
  if (backup.status !== "READY") {
    throw new AppError("CONFLICT", {
      detail: `Only a ready backup can be restored; this one is ${backup.status.toLowerCase().replace("_", " ")}.`,
    });
  }
  const sameInstance =
    input.targetInstanceId === undefined || input.targetInstanceId === source.instance.id;
  const target = sameInstance
    ? source
    : await loadRecord(ctx.db, { instanceId: input.targetInstanceId as string });
  if (!target || target.subscription.userId !== source.subscription.userId) {
    throw new AppError("UNPROCESSABLE", {
      detail: "targetInstanceId names no instance of yours.",
      fields: [{ field: "targetInstanceId", message: "is not one of your instances" }],
    });
  }
  if (target.service.id !== source.service.id) {
    throw new AppError("UNPROCESSABLE", {
      detail: `A ${source.service.name} backup can only be restored into a ${source.service.name} instance.`,
      fields: [{ field: "targetInstanceId", message: "is an instance of another app" }],
    });
  }
  if (!(HAS_VOLUME as readonly string[]).includes(target.instance.status)) {
    throw new AppError("CONFLICT", {
      detail: `An instance that is ${target.instance.status.toLowerCase()} cannot be restored into; wait until it runs.`,
    });
  }
  // The volume the last restore replaced is still there until it is kept as a backup (the
  // sweep, within minutes of the instance running): one replaced volume at a time.
  if ((await instanceVolumeOf(ctx.db, target.instance.id)).replaced !== null) {
    throw new AppError("CONFLICT", {
      detail:
        target.instance.status === "RUNNING"
          ? "The last restore into this instance is still being settled: the data it replaced is being kept as a backup. Try again in a few minutes."
          : "The last restore into this instance has not settled: the data it replaced is kept until the instance runs on the restored data. Restart the instance; if it cannot start on the restored data, contact support: the data it had before is kept.",
    });
  }
  await preflight(ctx, target.instance.id);
  try {
    return await ctx.db.transaction(async (tx) => {
      const [restore] = await tx
        .insert(backupRestores)
        .values({
          backupId: backup.id,
          targetInstanceId: target.instance.id,
          target: sameInstance ? "SAME_INSTANCE" : "NEW_INSTANCE",
          createdAt: ctx.now(),
        })
        .returning();
      const dto = restoreDto(restore!);
      await enqueueEvent(tx, {
        type: "backup.restore_requested",
        source: ctx.source,
        subject: dto.id,
        data: {
          userId: backup.userId,
          restoreId: dto.id,
          backupId: backup.id,
          instanceId: backup.instanceId,
          targetInstanceId: dto.targetInstanceId,
          target: dto.target,
          serviceName: source.service.name,
        },
      });
      await recordAudit(tx, {
        actor: input.actor,
        action: "backup.restore_requested",
        resourceType: "backup",
        resourceId: backup.id,
        ownerId: backup.userId,
        metadata: { restoreId: dto.id, targetInstanceId: dto.targetInstanceId },
        at: ctx.now(),
      });
      return dto;
    });
  } catch (error) {
    if (isUniqueViolation(error, "backup_restores_one_pending_uq")) {
      throw new AppError("CONFLICT", {
        detail: "A restore into this instance is already running; wait for it to finish.",
      });
    }
    throw error;
  }
}

const restoreNotFound = () => new AppError("NOT_FOUND", { detail: "No restore with this id." });

/**
 * Restores into an instance (the one named in the path is the target: for a
 * restore into a new instance, the new one), newest first: how a client follows
 * one to DONE or FAILED. The owner's alone, as restoring is.
 */
export async function listRestores({
  ctx,
  input,
}: {
  ctx: InstancesContext;
  input: { actor: Actor; id: string; page: PageQuery };
}) {
  const record = await ownedRecord(ctx, input.actor, input.id);
  const p = keyset(backupRestores.createdAt, backupRestores.id, input.page);
  const rows = await ctx.db
    .select()
    .from(backupRestores)
    .where(and(eq(backupRestores.targetInstanceId, record.instance.id), p.where))
    .orderBy(...p.orderBy)
    .limit(p.fetch);
  return p.page(rows, restoreDto);
}

/** One restore into the instance: PENDING, DONE or FAILED with the reason in plain words. */
export async function showRestore({
  ctx,
  input,
}: {
  ctx: InstancesContext;
  input: { actor: Actor; id: string; restoreId: string };
}) {
  const record = await ownedRecord(ctx, input.actor, input.id);
  const [row] = await ctx.db
    .select()
    .from(backupRestores)
    .where(
      and(
        eq(backupRestores.id, input.restoreId),
        eq(backupRestores.targetInstanceId, record.instance.id),
      ),
    );
  if (!row) throw restoreNotFound();
  return restoreDto(row);
}
