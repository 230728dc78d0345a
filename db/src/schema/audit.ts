import { sql } from "drizzle-orm";
import { index, jsonb, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { createdAt, logId } from "./_common";
import { users } from "./users";

/** Who did what to which resource. */
export const auditLog = pgTable(
  "audit_log",
  {
    id: logId(),
    actorId: uuid("actor_id").references(() => users.id, { onDelete: "set null" }),
    actorRole: text("actor_role"),
    /**
     * The customer whose thing the entry concerns (their account, subscription,
     * instance, webhook endpoint), fixed when it is written: their audit trail
     * shows it whoever acted. Null for the platform's own things (catalog,
     * dead letters). No foreign key, on purpose: its check looks up and locks
     * (KEY SHARE) the owner's users row for every inserted entry, which made
     * the expiry sweep, one entry per expired subscription, half again as slow
     * (100,000 expiries: 9.9 s with the key, 6.4 s without, same database).
     * Users are disabled, never deleted.
     */
    ownerId: uuid("owner_id"),
    action: text("action").notNull(),
    resourceType: text("resource_type").notNull(),
    resourceId: text("resource_id"),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    ip: text("ip"),
    userAgent: text("user_agent"),
    requestId: text("request_id"),
    createdAt: createdAt(),
  },
  (t) => [
    // System rows (the sweeps write one per changed subscription) have no actor: not indexed.
    index("audit_log_actor_idx").on(t.actorId, t.createdAt).where(sql`${t.actorId} is not null`),
    // A user's own trail: what concerns them (owner), newest first; unowned rows not indexed.
    index("audit_log_owner_idx")
      .on(t.ownerId, t.createdAt, t.id)
      .where(sql`${t.ownerId} is not null`),
    index("audit_log_resource_idx").on(t.resourceType, t.resourceId, t.createdAt),
    // The admin audit list pages everyone's entries newest first.
    index("audit_log_created_idx").on(t.createdAt, t.id),
  ],
);
