import { auditLog, type Db } from "@minispod/db";
import type { Actor } from "./context";

export async function audit(
  tx: Db,
  entry: {
    actor: Actor;
    action: string;
    resourceType: string;
    resourceId: string;
    metadata?: Record<string, unknown>;
  },
): Promise<void> {
  await tx.insert(auditLog).values({
    actorId: entry.actor.id,
    actorRole: entry.actor.role,
    action: entry.action,
    resourceType: entry.resourceType,
    resourceId: entry.resourceId,
    metadata: entry.metadata ?? {},
  });
}
