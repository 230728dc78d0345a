import type { SnapshotSupport } from "@minispod/cluster";
import { backupKind, backupStatus, backups, type Db } from "@minispod/db";
import {
  keyset,
  type Metrics,
  named,
  type Page,
  type PageQuery,
  perRegistry,
} from "@minispod/shared";
import { and, eq, ne } from "drizzle-orm";
import { Counter, type Registry } from "prom-client";
import * as v from "valibot";

type BackupRow = typeof backups.$inferSelect;

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
