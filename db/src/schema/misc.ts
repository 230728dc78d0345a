import { sql } from "drizzle-orm";
import {
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { createdAt, id, logId, ts } from "./_common";
import { users } from "./users";

export const idempotencyStatus = pgEnum("idempotency_status", ["IN_PROGRESS", "COMPLETED"]);

/**
 * `Idempotency-Key` records. The row is claimed (IN_PROGRESS) before the work
 * starts, so a racing duplicate sees it and never runs the work twice.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    id: id(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    scope: text("scope").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    status: idempotencyStatus("status").notNull().default("IN_PROGRESS"),
    responseStatus: integer("response_status"),
    responseBody: jsonb("response_body"),
    createdAt: createdAt(),
    completedAt: ts("completed_at"),
  },
  (t) => [
    uniqueIndex("idempotency_keys_uq").on(t.userId, t.scope, t.key),
    // The billing sweep purges rows past their retention, oldest first.
    index("idempotency_keys_created_idx").on(t.createdAt),
  ],
);

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

/** Every email the notifier sent (or failed to send); one per event and template. */
export const emailMessages = pgTable(
  "email_messages",
  {
    id: logId(),
    userId: uuid("user_id").references(() => users.id, { onDelete: "set null" }),
    eventId: text("event_id").notNull(),
    template: text("template").notNull(),
    to: text("to").notNull(),
    subject: text("subject").notNull(),
    status: text("status").notNull(),
    providerMessageId: text("provider_message_id"),
    error: text("error"),
    createdAt: createdAt(),
    sentAt: ts("sent_at"),
  },
  (t) => [
    uniqueIndex("email_messages_event_template_uq").on(t.eventId, t.template),
    index("email_messages_user_idx").on(t.userId, t.createdAt),
  ],
);

/**
 * Keys local mode's in-memory store keeps across restarts (the token
 * revocation marks: disable, role and password change, log out everywhere).
 * Where Redis is configured it holds them instead and this table stays empty.
 */
export const localStoreEntries = pgTable("local_store_entries", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  /** Null: kept until deleted. */
  expiresAt: ts("expires_at"),
});
