import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { createDb } from "./client";

/**
 * Test databases: one migrated template per test run, cloned per test file so
 * files run in parallel without sharing state.
 */
function adminClient(serverUrl: string) {
  return postgres(serverUrl, { max: 1, onnotice: () => {} });
}

function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates (or recreates) `name` and applies every migration to it (the dev-only set too). */
export async function createTemplateDatabase(serverUrl: string, name: string): Promise<void> {
  const sql = adminClient(serverUrl);
  try {
    await sql.unsafe(`drop database if exists "${name}" with (force)`);
    await sql.unsafe(`create database "${name}"`);
  } finally {
    await sql.end();
  }
  const database = createDb(withDatabase(serverUrl, name), { max: 1 });
  try {
    await database.migrate();
    await database.migrateDev();
  } finally {
    await database.close();
  }
}

/** Clones the template into a fresh database and returns its URL. */
export async function cloneDatabase(
  serverUrl: string,
  template: string,
  prefix = "minispod_test",
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const sql = adminClient(serverUrl);
  try {
    // Two clones of one template at the same instant can collide; retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await sql.unsafe(`create database "${name}" template "${template}"`);
        break;
      } catch (error) {
        if (attempt >= 20) throw error;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
      }
    }
  } finally {
    await sql.end();
  }
  return {
    name,
    url: withDatabase(serverUrl, name),
    drop: async () => {
      const admin = adminClient(serverUrl);
      try {
        await admin.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await admin.end();
      }
    },
  };
}

export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const sql = adminClient(serverUrl);
  try {
    await sql.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await sql.end();
  }
}
