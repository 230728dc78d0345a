import { auditLog, type Db, type UserRole } from "@minispod/db";

/** Who is acting, for the audit log. */
export interface Actor {
  userId: string;
  role: UserRole;
  requestId?: string;
  ip?: string;
}

/** Writes one audit row; call it inside the transaction of the change it records. */
export async function audit(
  tx: Db,
  actor: Actor,
  entry: { action: string; resourceId: string; metadata: Record<string, unknown> },
): Promise<void> {
  await tx.insert(auditLog).values({
    actorId: actor.userId,
    actorRole: actor.role,
    action: entry.action,
    resourceType: "service",
    resourceId: entry.resourceId,
    metadata: entry.metadata,
    ip: actor.ip ?? null,
    requestId: actor.requestId ?? null,
  });
}
