import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import * as schema from "./schema/index";

export type Schema = typeof schema;

/**
 * A drizzle database on either driver. Transactions are the same type, so
 * services accept `Db` for "a database or a transaction".
 */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface Database {
  db: Db;
  /** "postgres" for a server, "pglite" for the embedded database of local mode. */
  kind: "postgres" | "pglite";
  /** Applies the committed drizzle-kit migrations (the production set). Safe to call on every start. */
  migrate(): Promise<void>;
  /**
   * Applies the dev-only set (`db/migrations-dev`: the local broker's queue and
   * the simulated cluster) after `migrate()`. Local mode, tests and the compose
   * broker only; the production migrate Job never runs it.
   */
  migrateDev(): Promise<void>;
  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface CreateDbOptions {
  /** Pool size for postgres.js (ignored for PGlite). */
  max?: number;
  /** Where the drizzle-kit migrations are (bundled images keep them beside the bundle). */
  migrationsFolder?: string;
  /** Where the dev-only migrations are (`migrateDev`). */
  devMigrationsFolder?: string;
  /**
   * Named server-side prepared statements (postgres.js `prepare`, on by
   * default): PostgreSQL parses and plans a statement once per connection.
   * Turn off behind PgBouncer in transaction pooling mode before 1.21, where
   * a statement prepared on one server connection is missing on the next.
   */
  prepare?: boolean;
}

export const migrationsFolder = fileURLToPath(new URL("../migrations", import.meta.url));
export const devMigrationsFolder = fileURLToPath(new URL("../migrations-dev", import.meta.url));
/** The dev-only set keeps its own journal, so each set only ever sees its own entries. */
const DEV_MIGRATIONS_TABLE = "__drizzle_migrations_dev";

/**
 * Opens the database named by `url`:
 * - `postgres://…` / `postgresql://…` — a PostgreSQL server through postgres.js;
 * - `pglite://<dir>` — embedded PGlite keeping its files in `<dir>`;
 * - `pglite://memory` — embedded PGlite in memory (lost on exit).
 *
 * @example
 * const database = createDb("pglite://.data/pglite");
 * await database.migrate();
 * const rows = await database.db.select().from(users);
 */
export function createDb(url: string, options: CreateDbOptions = {}): Database {
  const folder = options.migrationsFolder ?? migrationsFolder;
  const devFolder = options.devMigrationsFolder ?? devMigrationsFolder;
  const dev = { migrationsFolder: devFolder, migrationsTable: DEV_MIGRATIONS_TABLE };
  if (url.startsWith("pglite://")) {
    const location = url.slice("pglite://".length);
    const client = location === "memory" || location === "" ? new PGlite() : new PGlite(location);
    const db = drizzlePglite({ client, schema, casing: "snake_case" }) as unknown as Db;
    return {
      db,
      kind: "pglite",
      migrate: () => migratePglite(drizzlePglite({ client }), { migrationsFolder: folder }),
      migrateDev: () => migratePglite(drizzlePglite({ client }), dev),
      ping: async () => {
        await client.query("select 1");
      },
      close: () => client.close(),
    };
  }
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    const client = postgres(url, {
      max: options.max ?? 10,
      prepare: options.prepare ?? true,
      onnotice: () => {},
      connection: { application_name: "minispod" },
    });
    const db = drizzlePostgres({ client, schema, casing: "snake_case" }) as unknown as Db;
    return {
      db,
      kind: "postgres",
      migrate: () => migratePostgres(drizzlePostgres({ client }), { migrationsFolder: folder }),
      migrateDev: () => migratePostgres(drizzlePostgres({ client }), dev),
      ping: async () => {
        await client`select 1`;
      },
      close: () => client.end({ timeout: 5 }),
    };
  }
  throw new Error(
    `Unsupported database URL scheme in "${redactUrl(url)}": use postgres://, postgresql:// or pglite://`,
  );
}

/**
 * A drizzle prepared query built once per database handle and reused: the SQL
 * is not rebuilt in JavaScript on each call, and PostgreSQL plans it once per
 * connection (unless `prepare` is off). Values go in as `sql.placeholder()`s.
 *
 * @example
 * const byId = preparedQuery((db) =>
 *   db.select().from(users).where(eq(users.id, sql.placeholder("id"))).prepare("user_by_id"));
 * const [user] = await byId(db).execute({ id });
 */
export function preparedQuery<Q>(build: (db: Db) => Q): (db: Db) => Q {
  // Keyed by handle: a transaction is its own handle and gets its own (short-lived) copy.
  const built = new WeakMap<Db, Q>();
  return (db) => {
    let query = built.get(db);
    if (query === undefined) {
      query = build(db);
      built.set(db, query);
    }
    return query;
  };
}

/** Hides the password of a connection URL so it can be logged. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, "$1***@");
}

/**
 * True when `error` (or its cause, as drizzle wraps driver errors) is a
 * PostgreSQL unique violation, optionally of one named constraint/index.
 */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 4; depth++) {
    const candidate = e as {
      code?: string;
      constraint_name?: string;
      constraint?: string;
      cause?: unknown;
    };
    if (candidate.code === "23505") {
      if (!constraint) return true;
      return (candidate.constraint_name ?? candidate.constraint) === constraint;
    }
    e = candidate.cause;
  }
  return false;
}
