import { pgTable, text } from "drizzle-orm/pg-core";
import { ts } from "../schema/_common";

/**
 * Keys local mode's in-memory store keeps across restarts (the token
 * revocation marks: disable, role and password change, log out everywhere).
 * Local mode only: where Redis is configured it holds them, and the
 * production migrate Job never creates this table.
 */
export const localStoreEntries = pgTable("local_store_entries", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  /** Null: kept until deleted. */
  expiresAt: ts("expires_at"),
});
