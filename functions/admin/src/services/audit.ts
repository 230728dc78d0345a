import { auditLog, type Db } from "@minispod/db";
import {
  isAdmin,
  keyset,
  newestFirst,
  type Page,
  type PageQuery,
  type UserActor,
} from "@minispod/shared";
import { and, eq, gte, isNull, lt, ne, or, type SQL } from "drizzle-orm";

type AuditRow = typeof auditLog.$inferSelect;

/**
 * An audit entry as `viewer` may see it. Admins see everything. Anyone else
 * sees who else acted on their things by role only: another person's id, IP
 * and user agent are theirs, not the customer's to read.
 *
 * @example
 * auditDto(row, actorOf(c)); // a customer reading an admin's entry: actor {id: null, role: "ADMIN"}
 */
export function auditDto(row: AuditRow, viewer: Pick<UserActor, "id" | "role">) {
  const revealActor = isAdmin(viewer.role) || row.actorId === viewer.id;
  return {
    id: row.id,
    actor: { id: revealActor ? row.actorId : null, role: row.actorRole },
    action: row.action,
    resourceType: row.resourceType,
    resourceId: row.resourceId,
    metadata: row.metadata,
    ip: revealActor ? row.ip : null,
    userAgent: revealActor ? row.userAgent : null,
    requestId: row.requestId,
    createdAt: row.createdAt.toISOString(),
  };
}
export type AuditDto = ReturnType<typeof auditDto>;

export interface AuditFilters {
  actorId?: string | undefined;
  /** A user's own entries: see `concerning`. */
  userId?: string | undefined;
  action?: string | undefined;
  resourceType?: string | undefined;
  resourceId?: string | undefined;
  /** Inclusive. */
  from?: Date | undefined;
  /** Exclusive. */
  to?: Date | undefined;
}

/**
 * A user's "own" entries: those about their things (`owner_id`, fixed when
 * the entry was written: their account, subscriptions, instances, webhook
 * endpoints, whoever acted, the platform included), and what they did
 * themselves (`actor_id`, e.g. an admin's actions on others' things). As two
 * disjoint parts, so each can walk its own index in page order.
 */
function concerning(userId: string): [owned: SQL, acted: SQL] {
  return [
    eq(auditLog.ownerId, userId),
    and(eq(auditLog.actorId, userId), or(isNull(auditLog.ownerId), ne(auditLog.ownerId, userId)))!,
  ];
}

/**
 * Newest first, as `viewer` may see each entry.
 *
 * A user's own trail (`filters.userId`) is read as its two parts, each a
 * range of its own index (`audit_log_owner_idx`, `audit_log_actor_idx`)
 * stopped at one page, and the pages merged here. With `owner_id = me or
 * actor_id = me` in one query, PostgreSQL either gathers and sorts every entry
 * of the user or walks the whole log newest first until a page of theirs
 * turns up: slow for a user whose entries are many, or old.
 */
export async function listAudit(
  db: Db,
  viewer: Pick<UserActor, "id" | "role">,
  filters: AuditFilters,
  page: PageQuery,
): Promise<Page<AuditDto>> {
  const p = keyset(auditLog.createdAt, auditLog.id, page);
  const matching = and(
    filters.actorId ? eq(auditLog.actorId, filters.actorId) : undefined,
    filters.action ? eq(auditLog.action, filters.action) : undefined,
    filters.resourceType ? eq(auditLog.resourceType, filters.resourceType) : undefined,
    filters.resourceId ? eq(auditLog.resourceId, filters.resourceId) : undefined,
    filters.from ? gte(auditLog.createdAt, filters.from) : undefined,
    filters.to ? lt(auditLog.createdAt, filters.to) : undefined,
    p.where,
  );
  const onePage = (part?: SQL) =>
    db
      .select()
      .from(auditLog)
      .where(and(matching, part))
      .orderBy(...p.orderBy)
      .limit(p.fetch);
  if (!filters.userId) return p.page(await onePage(), (row) => auditDto(row, viewer));
  const parts = await Promise.all(concerning(filters.userId).map(onePage));
  const rows = parts.flat().sort(newestFirst).slice(0, p.fetch);
  return p.page(rows, (row) => auditDto(row, viewer));
}
