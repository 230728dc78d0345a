import { restoreStatus, restoreTarget } from "@minispod/db";
import { backupSchema } from "@minispod/instances/backups";
import { describeRoute, listOf, named } from "@minispod/shared";
import * as v from "valibot";

/** The OpenAPI notes of the backups routes, with the wire form of `backupDto` and `restoreDto`. */
const uuid = v.pipe(v.string(), v.uuid());
const timestamp = v.pipe(v.string(), v.isoTimestamp());

const restoreSchema = named(
  "BackupRestore",
  v.object({
    id: uuid,
    backupId: uuid,
    targetInstanceId: uuid,
    target: v.picklist(restoreTarget.enumValues),
    status: v.pipe(
      v.picklist(restoreStatus.enumValues),
      v.description(
        "PENDING until the target runs on the backup's data (DONE) or it failed (FAILED).",
      ),
    ),
    error: v.pipe(
      v.nullable(v.string()),
      v.description("Why it failed, in plain words; null unless FAILED."),
    ),
    createdAt: timestamp,
    updatedAt: timestamp,
    finishedAt: v.pipe(v.nullable(timestamp), v.description("When it became DONE or FAILED.")),
  }),
);

export const backupNotes = {
  list: describeRoute({
    id: "instances.backups.list",
    summary: "List the instance's backups, newest first, with size and state",
    response: { schema: listOf(backupSchema) },
    errors: [],
  }),
  get: describeRoute({
    id: "instances.backups.get",
    summary: "Show one backup",
    response: { schema: backupSchema },
    errors: [],
  }),
  create: describeRoute({
    id: "instances.backups.create",
    summary: "Back up the instance's volume now (owner only, audited)",
    description:
      "Answers 202 with the backup PENDING; it turns READY (with its size) or FAILED, with a `backup.succeeded` or `backup.failed` event. 422 when the instance's storage cannot take snapshots (no VolumeSnapshotClass for its StorageClass's driver); 409 while another backup of it is being taken.",
    response: { status: 202, schema: backupSchema },
    errors: ["FORBIDDEN", "CONFLICT", "UNPROCESSABLE", "SERVICE_UNAVAILABLE"],
    idempotent: true,
  }),
  delete: describeRoute({
    id: "instances.backups.delete",
    summary: "Delete a backup for good (owner only, audited)",
    description:
      "Answers 202 with the backup DELETING; its snapshot is deleted shortly after. Also deletes the backup a purge keeps for its grace period.",
    response: { status: 202, schema: backupSchema },
    errors: ["FORBIDDEN", "CONFLICT"],
  }),
  restore: describeRoute({
    id: "instances.backups.restore",
    summary:
      "Restore a ready backup into this instance, or into another instance of the same app (owner only, audited)",
    description:
      "The target is suspended, a new volume is created from the backup and the app resumes on it; its current volume is kept as a backup of kind PRE_RESTORE and deleted only once the app runs on the restored one, so a failed restore loses nothing and a restore can be undone. 409 while a restore into the target runs, or while the volume the last one replaced is still being kept (a few minutes after the instance runs). To restore into a new instance in one step, subscribe with `restoreFromBackupId` (also for backups of a purged instance); an existing instance of the same app is named as `targetInstanceId`. Ends with `backup.restored` or `backup.restore_failed`; `Location` is where to follow it.",
    response: {
      status: 202,
      schema: restoreSchema,
      location: "/api/v1/instances/{targetInstanceId}/restores/{id}",
    },
    errors: ["FORBIDDEN", "CONFLICT", "UNPROCESSABLE", "SERVICE_UNAVAILABLE"],
    idempotent: true,
  }),
  restores: describeRoute({
    id: "instances.restores.list",
    summary: "List the restores into this instance, newest first (owner only)",
    description:
      "Includes the restore a subscription with `restoreFromBackupId` started for its new instance.",
    response: { schema: listOf(restoreSchema) },
    errors: ["FORBIDDEN"],
  }),
  restoreGet: describeRoute({
    id: "instances.restores.get",
    summary: "Follow one restore into this instance (owner only)",
    response: { schema: restoreSchema },
    errors: ["FORBIDDEN"],
  }),
};
