import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  index,
  integer,
  pgEnum,
  pgTable,
  text,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { createdAt, id, ts, updatedAt } from "./_common";
import { serviceInstances } from "./instances";
import { users } from "./users";

/**
 * SCHEDULED (the catalog entry's schedule), ON_DEMAND (the customer asked),
 * PRE_RESTORE (the volume a restore replaced, kept as a backup so a restore of
 * the wrong backup can be undone; the newest one per instance is kept).
 */
export const backupKind = pgEnum("backup_kind", ["SCHEDULED", "ON_DEMAND", "PRE_RESTORE"]);
export type BackupKind = (typeof backupKind.enumValues)[number];

/**
 * PENDING (asked for, no snapshot yet) -> IN_PROGRESS (VolumeSnapshot created)
 * -> READY | FAILED; DELETING (asked to go, snapshot being removed) -> DELETED.
 */
export const backupStatus = pgEnum("backup_status", [
  "PENDING",
  "IN_PROGRESS",
  "READY",
  "FAILED",
  "DELETING",
  "DELETED",
]);
export type BackupStatus = (typeof backupStatus.enumValues)[number];

/**
 * A copy of an instance's volume: one CSI VolumeSnapshot (`snapshot_name`) in
 * the customer's namespace. Rows are kept after deletion (DELETED) as history.
 */
export const backups = pgTable(
  "backups",
  {
    id: id(),
    instanceId: uuid("instance_id")
      .notNull()
      .references(() => serviceInstances.id, { onDelete: "cascade" }),
    /** The owner (the namespace is theirs); the instance's subscription's user. */
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    kind: backupKind("kind").notNull(),
    status: backupStatus("status").notNull().default("PENDING"),
    /** Name of the VolumeSnapshot: `b-<id>`, deterministic so a replay finds it. */
    snapshotName: text("snapshot_name").notNull(),
    /** Volume generation it was taken of (see instance_volumes). */
    volumeGeneration: integer("volume_generation").notNull().default(0),
    /** restoreSize the snapshot reported, once ready. */
    sizeBytes: bigint("size_bytes", { mode: "number" }),
    /** Why it failed, in plain words. */
    error: text("error"),
    /**
     * Set when the instance is purged and this is the newest ready backup:
     * kept until then (BACKUP_PURGE_GRACE_DAYS), then deleted with the namespace.
     */
    retainUntil: ts("retain_until"),
    readyAt: ts("ready_at"),
    deletedAt: ts("deleted_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("backups_snapshot_name_uq").on(t.snapshotName),
    index("backups_instance_idx").on(t.instanceId, t.createdAt),
    index("backups_user_idx").on(t.userId, t.createdAt),
    index("backups_status_idx").on(t.status),
    check("backups_size_nonneg", sql`${t.sizeBytes} is null or ${t.sizeBytes} >= 0`),
  ],
);

/**
 * Which PVC an instance mounts. Generation 0 is `i-<id>`, later ones
 * `i-<id>-g<n>`: a restore into an instance creates the next generation from
 * the snapshot beside the current one and switches the Deployment to it;
 * the previous generation is deleted only once the instance runs on the new
 * one (`previousGeneration` until then), so a failed restore loses nothing.
 */
export const instanceVolumes = pgTable("instance_volumes", {
  instanceId: uuid("instance_id")
    .primaryKey()
    .references(() => serviceInstances.id, { onDelete: "cascade" }),
  generation: integer("generation").notNull().default(0),
  /** The snapshot the current generation's PVC was created from (its dataSource). */
  sourceSnapshot: text("source_snapshot"),
  /** The generation a restore switched away from, kept until the instance runs again. */
  previousGeneration: integer("previous_generation"),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const restoreTarget = pgEnum("restore_target", ["SAME_INSTANCE", "NEW_INSTANCE"]);
export const restoreStatus = pgEnum("restore_status", ["PENDING", "DONE", "FAILED"]);

/** One restore of a backup, into its own instance or into a new one. */
export const backupRestores = pgTable(
  "backup_restores",
  {
    id: id(),
    backupId: uuid("backup_id")
      .notNull()
      .references(() => backups.id, { onDelete: "cascade" }),
    /** Instance that receives the data (the backup's own, or the new one). */
    targetInstanceId: uuid("target_instance_id")
      .notNull()
      .references(() => serviceInstances.id, { onDelete: "cascade" }),
    target: restoreTarget("target").notNull(),
    status: restoreStatus("status").notNull().default("PENDING"),
    error: text("error"),
    finishedAt: ts("finished_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("backup_restores_backup_idx").on(t.backupId),
    // One restore at a time per instance: a second one while one runs is refused.
    uniqueIndex("backup_restores_one_pending_uq")
      .on(t.targetInstanceId)
      .where(sql`${t.status} = 'PENDING'`),
  ],
);
