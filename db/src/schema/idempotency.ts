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
import { createdAt, id, ts } from "./_common";
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
