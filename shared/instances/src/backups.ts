import type { SnapshotSupport, VolumeSpec } from "@minispod/cluster";
import {
  backupKind,
  backupRestores,
  backupStatus,
  backups,
  type Db,
  type InstanceStatus,
  instanceVolumes,
} from "@minispod/db";
import {
  enqueueEvent,
  keyset,
  type Metrics,
  named,
  type Page,
  type PageQuery,
  perRegistry,
} from "@minispod/shared";
import { and, eq, ne, sql } from "drizzle-orm";
import { Counter, type Registry } from "prom-client";
import * as v from "valibot";

type BackupRow = typeof backups.$inferSelect;

/**
 * The volume an instance mounts now (generation 0 unless a restore moved it,
 * with the snapshot it was created from), and the generation a restore
 * replaced that is still in the cluster (null once it was kept as a backup and
 * deleted): a restore into the instance waits until that one is gone.
 */
export async function instanceVolumeOf(
  db: Db,
  instanceId: string,
): Promise<{ volume: VolumeSpec; replaced: number | null }> {
  const [row] = await db
    .select()
    .from(instanceVolumes)
    .where(eq(instanceVolumes.instanceId, instanceId));
  return {
    volume: { generation: row?.generation ?? 0, dataSource: row?.sourceSnapshot ?? null },
    replaced: row?.previousGeneration ?? null,
  };
}

/** A backup as the API (customer and admin) shows it. */
export function backupDto(row: BackupRow) {
  return {
    id: row.id,
    instanceId: row.instanceId,
    userId: row.userId,
    kind: row.kind,
    status: row.status,
    sizeBytes: row.sizeBytes,
    error: row.error,
    /** Set on the newest backup of a purged instance: deleted for good after this. */
    retainUntil: row.retainUntil?.toISOString() ?? null,
    readyAt: row.readyAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}
export type BackupDto = ReturnType<typeof backupDto>;

const uuid = v.pipe(v.string(), v.uuid());
const timestamp = v.pipe(v.string(), v.isoTimestamp());

/** The wire form of `backupDto` (OpenAPI component "Backup"), shared by the instances and admin APIs. */
export const backupSchema = named(
  "Backup",
  v.object({
    id: uuid,
    instanceId: uuid,
    userId: uuid,
    kind: v.picklist(backupKind.enumValues),
    status: v.picklist(backupStatus.enumValues),
    sizeBytes: v.pipe(
      v.nullable(v.pipe(v.number(), v.integer())),
      v.description("What the snapshot holds, in bytes; null until it is ready."),
    ),
    error: v.pipe(v.nullable(v.string()), v.description("Why it failed, in plain words.")),
    retainUntil: v.pipe(
      v.nullable(timestamp),
      v.description(
        "The newest backup of a purged instance is kept until then (BACKUP_PURGE_GRACE_DAYS), then deleted for good.",
      ),
    ),
    readyAt: v.nullable(timestamp),
    createdAt: timestamp,
  }),
);

/** Backups of one instance or one customer, newest first; deleted ones are left out. */
export async function listBackupRows(
  db: Db,
  by: { instanceId?: string | undefined; userId?: string | undefined },
  page: PageQuery,
): Promise<Page<BackupDto>> {
  const p = keyset(backups.createdAt, backups.id, page);
  const rows = await db
    .select()
    .from(backups)
    .where(
      and(
        by.instanceId ? eq(backups.instanceId, by.instanceId) : undefined,
        by.userId ? eq(backups.userId, by.userId) : undefined,
        ne(backups.status, "DELETED"),
        p.where,
      ),
    )
    .orderBy(...p.orderBy)
    .limit(p.fetch);
  return p.page(rows, backupDto);
}

/** Plain words for a customer whose instance's storage cannot snapshot. */
export const backupsUnsupportedDetail = (support: SnapshotSupport) =>
  `Backups are not available for this instance: its storage cannot take snapshots (${support.reason}). The operators have been told.`;

const refusalCounter = perRegistry(
  (registry: Registry) =>
    new Counter({
      name: "minispod_backup_preflight_refusals_total",
      help: "Backups refused because the instances' storage class has no VolumeSnapshotClass for its driver, by storage class.",
      labelNames: ["storage_class"],
      registers: [registry],
    }),
);

const failedCounter = perRegistry(
  (registry: Registry) =>
    new Counter({
      name: "minispod_backups_failed_total",
      help: "Backups this replica recorded as FAILED (the snapshot failed or was not ready in time).",
      registers: [registry],
    }),
);

/**
 * Counts refusals of the backups preflight (`minispod_backup_preflight_refusals_total`,
 * by storage class): the operator alert `MinispodBackupStorageCannotSnapshot` fires on it.
 */
export function countPreflightRefusal(metrics: Metrics, support: SnapshotSupport) {
  refusalCounter(metrics.registry).inc({ storage_class: support.storageClass ?? "none" });
}

/** Counts backups recorded FAILED (`minispod_backups_failed_total`). */
export function countBackupFailures(metrics: Metrics, n = 1) {
  if (n > 0) failedCounter(metrics.registry).inc(n);
}

/** Declares the backup counters at 0, so a fresh replica's first refusal is an increase. */
export function declareBackupMetrics(metrics: Metrics) {
  refusalCounter(metrics.registry);
  failedCounter(metrics.registry);
}

/**
 * Finishes the restore a subscription with `restoreFromBackupId` started: its
 * instance was provisioned with generation 0 created from the backup's snapshot
 * (instance_volumes.source_snapshot), so the restore is DONE (`backup.restored`)
 * once the instance runs, and FAILED (`backup.restore_failed`) if it failed to
 * start or went before it ran. Only the first restore into the instance, whose
 * snapshot is that of generation 0, is one: a later restore moves the instance to a
 * new generation and is finished by the provisioner's `restoreIntoInstance`.
 * Runs in the caller's transaction, from every place that records a transition.
 */
export async function finishNewInstanceRestore(
  tx: Db,
  input: {
    instanceId: string;
    status: InstanceStatus;
    message: string;
    serviceName: string;
    source: string;
    now: Date;
  },
) {
  const outcome =
    input.status === "RUNNING"
      ? { status: "DONE" as const, error: null }
      : input.status === "FAILED"
        ? { status: "FAILED" as const, error: `The new instance did not start: ${input.message}` }
        : input.status === "DELETING" || input.status === "DELETED"
          ? {
              status: "FAILED" as const,
              error: "The new instance was deleted before it started with the backup's data.",
            }
          : undefined;
  if (!outcome) return;
  const [pending] = await tx
    .select({ restore: backupRestores, backup: backups })
    .from(backupRestores)
    .innerJoin(backups, eq(backups.id, backupRestores.backupId))
    .innerJoin(
      instanceVolumes,
      and(
        eq(instanceVolumes.instanceId, backupRestores.targetInstanceId),
        eq(instanceVolumes.generation, 0),
        eq(instanceVolumes.sourceSnapshot, backups.snapshotName),
      ),
    )
    .where(
      and(
        eq(backupRestores.targetInstanceId, input.instanceId),
        eq(backupRestores.target, "NEW_INSTANCE"),
        eq(backupRestores.status, "PENDING"),
        sql`not exists (select 1 from backup_restores earlier
          where earlier.target_instance_id = ${backupRestores.targetInstanceId}
            and earlier.created_at < ${backupRestores.createdAt})`,
      ),
    )
    .limit(1);
  if (!pending) return;
  const [done] = await tx
    .update(backupRestores)
    .set({ ...outcome, finishedAt: input.now })
    .where(and(eq(backupRestores.id, pending.restore.id), eq(backupRestores.status, "PENDING")))
    .returning();
  if (!done) return;
  await enqueueEvent(tx, {
    type: outcome.status === "DONE" ? "backup.restored" : "backup.restore_failed",
    source: input.source,
    subject: done.id,
    data: {
      userId: pending.backup.userId,
      restoreId: done.id,
      backupId: pending.backup.id,
      instanceId: pending.backup.instanceId,
      targetInstanceId: input.instanceId,
      target: done.target,
      serviceName: input.serviceName,
      reason: outcome.error,
    },
  });
}
