import { auditLog, type Db } from "@minispod/db";
import { keyset, type Page, type PageQuery } from "@minispod/shared";
import { and, eq, gte, lt, or, type SQL } from "drizzle-orm";

type AuditRow = typeof auditLog.$inferSelect;

/** An audit entry as the API shows it. */
export function auditDto(row: AuditRow) {
  return {
    id: row.id,
    actor: { id: row.actorId, role: row.actorRole },
    action: row.action,
    resourceType: row.resourceType,
    resourceId: row.resourceId,
    metadata: row.metadata,
    ip: row.ip,
    userAgent: row.userAgent,
    requestId: row.requestId,
    createdAt: row.createdAt.toISOString(),
  };
}
export type AuditDto = ReturnType<typeof auditDto>;

export interface AuditFilters {
  actorId?: string | undefined;
  /**
   * Entries concerning a user: what they did (actor), and what was done to
   * their account (resource type "user", id theirs), e.g. an admin disabling them.
   */
  userId?: string | undefined;
  action?: string | undefined;
  resourceType?: string | undefined;
  resourceId?: string | undefined;
  /** Inclusive. */
  from?: Date | undefined;
  /** Exclusive. */
  to?: Date | undefined;
}

/** The `userId` filter: a user's "own" entries. */
export function concerning(userId: string): SQL {
  return or(
    eq(auditLog.actorId, userId),
    and(eq(auditLog.resourceType, "user"), eq(auditLog.resourceId, userId)),
  )!;
}

/** Newest first. */
export async function listAudit(
  db: Db,
  filters: AuditFilters,
  page: PageQuery,
): Promise<Page<AuditDto>> {
  const p = keyset(auditLog.createdAt, auditLog.id, page);
  const rows = await db
    .select()
    .from(auditLog)
    .where(
      and(
        filters.actorId ? eq(auditLog.actorId, filters.actorId) : undefined,
        filters.userId ? concerning(filters.userId) : undefined,
        filters.action ? eq(auditLog.action, filters.action) : undefined,
        filters.resourceType ? eq(auditLog.resourceType, filters.resourceType) : undefined,
        filters.resourceId ? eq(auditLog.resourceId, filters.resourceId) : undefined,
        filters.from ? gte(auditLog.createdAt, filters.from) : undefined,
        filters.to ? lt(auditLog.createdAt, filters.to) : undefined,
        p.where,
      ),
    )
    .orderBy(...p.orderBy)
    .limit(p.fetch);
  return p.page(rows, auditDto);
}
