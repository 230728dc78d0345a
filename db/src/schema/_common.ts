import { sql } from "drizzle-orm";
import { timestamp, uuid } from "drizzle-orm/pg-core";

/** Primary key column shared by every table: a random UUID made by the database. */
export const id = () => uuid("id").primaryKey().default(sql`gen_random_uuid()`);

/**
 * Primary key of an append-only log (outbox, audit, deliveries, timelines): a
 * time-ordered UUIDv7 made by the database (`uuidv7()`, defined by migration
 * 0010 for PostgreSQL before 18, which has it built in). New keys land at the
 * right edge of the index instead of on a random page, so inserting stays
 * cheap as these tables grow into millions of rows. The 74 random bits keep
 * the ids unguessable; the leading 48 bits are the creation time in ms.
 */
export const logId = () => uuid("id").primaryKey().default(sql`uuidv7()`);

/** `timestamptz` in milliseconds precision, returned as a JS Date. */
export const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

export const createdAt = () => ts("created_at").notNull().defaultNow();
export const updatedAt = () =>
  ts("updated_at")
    .notNull()
    .defaultNow()
    .$onUpdate(() => new Date());
