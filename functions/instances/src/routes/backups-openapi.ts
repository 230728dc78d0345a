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
    status: v.picklist(restoreStatus.enumValues),
    error: v.nullable(v.string()),
    createdAt: timestamp,
    finishedAt: v.nullable(timestamp),
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
      "The target is suspended, a new volume is created from the backup and the app resumes on it; its current volume is deleted only once that worked, so a failed restore loses nothing. To restore into a new instance, subscribe to the same app and pass its instance as `targetInstanceId` (also for backups of a purged instance). Ends with `backup.restored` or `backup.restore_failed`.",
    response: { status: 202, schema: restoreSchema },
    errors: ["FORBIDDEN", "CONFLICT", "UNPROCESSABLE", "SERVICE_UNAVAILABLE"],
    idempotent: true,
  }),
};
