import { sql } from "drizzle-orm";
import { timestamp, uuid } from "drizzle-orm/pg-core";

/** Primary key column shared by every table: a random UUID made by the database. */
export const id = () => uuid("id").primaryKey().default(sql`gen_random_uuid()`);

/** `timestamptz` in milliseconds precision, returned as a JS Date. */
export const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

export const createdAt = () => ts("created_at").notNull().defaultNow();
export const updatedAt = () =>
  ts("updated_at")
    .notNull()
    .defaultNow()
    .$onUpdate(() => new Date());
