import { randomUUID } from "node:crypto";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { migrationsFolder } from "../src/client";
import { cloneDatabase } from "../src/testing";

/** The migration under test: it adds `audit_log.owner_id` and backfills it. */
const OWNER_MIGRATION = "0011_audit_owner";

/** A copy of the migrations folder whose journal stops just before `tag`. */
async function migrationsBefore(tag: string): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), "minispod-migrations-"));
  await cp(migrationsFolder, folder, { recursive: true });
  const journalPath = join(folder, "meta", "_journal.json");
  const journal = JSON.parse(await readFile(journalPath, "utf8")) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((entry) => entry.tag === tag);
  if (at < 0) throw new Error(`No migration ${tag} in the journal.`);
  journal.entries = journal.entries.slice(0, at);
  await writeFile(journalPath, JSON.stringify(journal));
  return folder;
}

/** An empty database of either kind, driven by raw SQL and the drizzle migrator. */
interface RawDatabase {
  query<T>(text: string, params?: unknown[]): Promise<T[]>;
  migrate(folder: string): Promise<void>;
  close(): Promise<void>;
}

async function emptyDatabase(kind: "postgres" | "pglite"): Promise<RawDatabase> {
  if (kind === "pglite") {
    const client = new PGlite();
    return {
      query: async <T>(text: string, params?: unknown[]) =>
        (await client.query<T>(text, params)).rows,
      migrate: (folder) => migratePglite(drizzlePglite({ client }), { migrationsFolder: folder }),
      close: () => client.close(),
    };
  }
  // A fresh database from template0: nothing migrated yet.
  const clone = await cloneDatabase(inject("databaseServerUrl"), "template0");
  const client = postgres(clone.url, { max: 1, onnotice: () => {} });
  return {
    query: async <T>(text: string, params?: unknown[]) =>
      (await client.unsafe(text, (params ?? []) as postgres.ParameterOrJSON<never>[])) as T[],
    migrate: (folder) => migratePostgres(drizzlePostgres({ client }), { migrationsFolder: folder }),
    close: async () => {
      await client.end();
      await clone.drop();
    },
  };
}

describe.each(["postgres", "pglite"] as const)(`%s: migration ${OWNER_MIGRATION}`, (kind) => {
  let database: RawDatabase;
  let before: string;
  const audit: Record<string, string> = {};
  const people: Record<string, string> = {};

  beforeAll(async () => {
    before = await migrationsBefore(OWNER_MIGRATION);
    database = await emptyDatabase(kind);
    await database.migrate(before);
    const one = async (text: string, params: unknown[]) => {
      const [row] = await database.query<{ id: string }>(`${text} returning id`, params);
      return row!.id;
    };
    // The shape before the migration: audit_log has no owner_id yet.
    const user = (name: string, role: string) =>
      one("insert into users (email, name, password_hash, role) values ($1, $2, 'x', $3)", [
        `${name}-${randomUUID()}@example.com`,
        name,
        role,
      ]);
    people.carol = await user("carol", "CUSTOMER");
    people.oscar = await user("oscar", "CUSTOMER");
    people.ada = await user("ada", "ADMIN");
    const service = await one(
      `insert into service_catalog (slug, name, image, image_tag, port, cpu, memory, price_minor, currency)
       values ($1, 'S', 'nginx', '1', 80, '100m', '128Mi', 500, 'EUR')`,
      [`svc-${randomUUID().slice(0, 8)}`],
    );
    const subscription = await one(
      `insert into subscriptions (user_id, service_id, status, current_period_start, current_period_end)
       values ($1, $2, 'EXPIRED', now() - interval '30 days', now())`,
      [people.carol, service],
    );
    const instance = await one(
      `insert into service_instances (subscription_id, namespace, object_name, host, url)
       values ($1, 'c-carol', 'app-1', $2, 'https://x')`,
      [subscription, `${randomUUID()}.apps.test`],
    );
    const endpoint = await one(
      `insert into webhook_endpoints (user_id, url, secret) values ($1, 'https://hooks.example.com', 'whsec_x')`,
      [people.oscar],
    );
    const entry = (
      name: string,
      actor: string | null,
      role: string,
      resourceType: string,
      resourceId: string | null,
    ) =>
      one(
        `insert into audit_log (actor_id, actor_role, action, resource_type, resource_id)
         values ($1, $2, $3, $4, $5)`,
        [actor, role, `test.${name}`, resourceType, resourceId],
      ).then((id) => {
        audit[name] = id;
      });
    await entry("adminDisabledCarol", people.ada, "ADMIN", "user", people.carol);
    await entry("carolLoggedOut", people.carol, "CUSTOMER", "user", people.carol);
    await entry("systemExpired", null, "SYSTEM", "subscription", subscription);
    await entry("adminCancelled", people.ada, "ADMIN", "subscription", subscription);
    await entry("systemDisabledHook", null, "SYSTEM", "webhook_endpoint", endpoint);
    await entry("adminRestarted", people.ada, "ADMIN", "instance", instance);
    // The endpoint is gone: its owner is known only as the customer who acted.
    await entry("oscarDeletedHook", people.oscar, "CUSTOMER", "webhook_endpoint", randomUUID());
    await entry("adminOnService", people.ada, "ADMIN", "service", service);
    await entry("replayed", people.ada, "ADMIN", "dead_letter", "not-a-uuid");
    // Ids that are no UUID where one is expected: no owner, and no failed cast.
    await entry("oddSubscription", null, "SYSTEM", "subscription", "sub-42");
    await entry("oddUser", people.ada, "ADMIN", "user", "");
    await entry("noResource", null, "SYSTEM", "instance", null);
    await database.migrate(migrationsFolder);
  }, 60_000);

  afterAll(async () => {
    await database?.close();
    if (before) await rm(before, { recursive: true, force: true });
  });

  const ownerOf = async () => {
    const rows = await database.query<{ id: string; owner_id: string | null }>(
      "select id, owner_id from audit_log",
    );
    const owners = new Map(rows.map((row) => [row.id, row.owner_id]));
    return (name: string) => owners.get(audit[name]!);
  };

  it("sets the owner of existing entries from what they concern", async () => {
    const owner = await ownerOf();
    const named = [
      "adminDisabledCarol",
      "carolLoggedOut",
      "systemExpired",
      "adminCancelled",
      "systemDisabledHook",
      "adminRestarted",
      "oscarDeletedHook",
    ];
    expect(Object.fromEntries(named.map((name) => [name, owner(name)]))).toEqual({
      adminDisabledCarol: people.carol,
      carolLoggedOut: people.carol,
      systemExpired: people.carol,
      adminCancelled: people.carol,
      systemDisabledHook: people.oscar,
      adminRestarted: people.carol,
      oscarDeletedHook: people.oscar,
    });
  });

  it("leaves the platform's own things, and ids it cannot match, without an owner", async () => {
    const owner = await ownerOf();
    const unowned = ["adminOnService", "replayed", "oddSubscription", "oddUser", "noResource"];
    expect(Object.fromEntries(unowned.map((name) => [name, owner(name)]))).toEqual(
      Object.fromEntries(unowned.map((name) => [name, null])),
    );
  });

  it("puts no foreign key on the owner, so writing an entry never locks the owner's users row", async () => {
    const keys = await database.query<{ name: string }>(
      `select conname as name from pg_constraint
       where conrelid = 'audit_log'::regclass and contype = 'f'
         and conkey @> array[(select attnum from pg_attribute
                              where attrelid = 'audit_log'::regclass and attname = 'owner_id')]`,
    );
    expect(keys).toEqual([]);
  });
});
