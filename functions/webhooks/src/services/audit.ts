import { auditLog, type Db, type UserRole } from "@minispod/db";

/** Who is acting, for the audit log. */
export interface Actor {
  userId: string;
  role: UserRole;
  requestId: string;
}

/** One audit row in the caller's transaction. Metadata never carries a secret. */
export async function writeAudit(
  tx: Db,
  actor: Actor,
  action: string,
  resourceId: string,
  metadata: Record<string, unknown>,
  now: Date,
): Promise<void> {
  await tx.insert(auditLog).values({
    actorId: actor.userId,
    actorRole: actor.role,
    action,
    resourceType: "webhook_endpoint",
    resourceId,
    metadata,
    requestId: actor.requestId,
    createdAt: now,
  });
}
