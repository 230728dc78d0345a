import { randomBytes } from "node:crypto";
import {
  type CatalogCredential,
  type Db,
  instanceCredentials,
  type serviceCatalog,
} from "@minispod/db";
import {
  developmentKeyring,
  type Keyring,
  openSecret,
  parseKeyring,
  sealSecret,
} from "@minispod/shared";
import { and, eq, sql } from "drizzle-orm";
import * as v from "valibot";

/**
 * The key that seals customer credentials at rest, in the env schema of every
 * function that reads or writes them (instances, provisioner).
 */
export const credentialsEnvEntries = {
  /**
   * `id:base64key[,id:base64key]`: 32-byte AES-256-GCM keys; the first seals,
   * all open (add a new key in front to rotate). Unset: a fixed development
   * key, refused when NODE_ENV=production.
   */
  CREDENTIALS_KEYS: v.optional(
    v.pipe(
      v.string(),
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        try {
          return parseKeyring(dataset.value);
        } catch (error) {
          // The message names the key id at most, never the key.
          addIssue({ message: `must be id:base64key pairs: ${(error as Error).message}` });
          return NEVER;
        }
      }),
    ),
  ),
};

/** The production rule: the development key protects nothing. */
export const credentialsKeyAllowed = (env: { NODE_ENV: string; CREDENTIALS_KEYS?: unknown }) =>
  env.NODE_ENV !== "production" || env.CREDENTIALS_KEYS !== undefined;

export const CREDENTIALS_KEY_IN_PRODUCTION =
  'must be set when NODE_ENV=production (e.g. "k1:" + 32 random bytes in base64)';

export const keyringOf = (env: { CREDENTIALS_KEYS?: Keyring | undefined }): Keyring =>
  env.CREDENTIALS_KEYS ?? developmentKeyring();

/** 32 random bytes, URL-safe: as strong as the other generated secrets. */
export const generateCredential = () => randomBytes(32).toString("base64url");

/** What the catalog hands the customer of this app (none for most apps). */
export const credentialsOf = (service: typeof serviceCatalog.$inferSelect): CatalogCredential[] =>
  (service.workload.credentials ?? []).filter((c) =>
    service.workload.generatedSecrets?.includes(c.secret),
  );

// Bound into the ciphertext, so a value copied to another row or instance does not open.
const contextOf = (instanceId: string, name: string) => `${instanceId}/${name}`;

/** A credential's value and version, opened. */
export interface OpenedCredential {
  name: string;
  value: string;
  version: number;
  updatedAt: Date;
}

/** The instance's stored credentials, opened; empty when none were generated. */
export async function readCredentials(
  db: Db,
  keyring: Keyring,
  instanceId: string,
): Promise<OpenedCredential[]> {
  const rows = await db
    .select()
    .from(instanceCredentials)
    .where(eq(instanceCredentials.instanceId, instanceId));
  return rows.map((row) => ({
    name: row.name,
    value: openSecret(
      keyring,
      { keyId: row.keyId, box: row.sealed },
      contextOf(instanceId, row.name),
    ),
    version: row.version,
    updatedAt: row.updatedAt,
  }));
}

/**
 * Generates and stores the credentials the instance lacks (its first
 * provision), keeps those it has, and answers all of them as
 * `{ NAME: value }` for the Secret. Safe to call again and concurrently.
 */
export async function ensureCredentials(
  db: Db,
  keyring: Keyring,
  instanceId: string,
  names: readonly string[],
): Promise<Record<string, string>> {
  if (names.length === 0) return {};
  await db
    .insert(instanceCredentials)
    .values(
      names.map((name) => {
        const sealed = sealSecret(keyring, generateCredential(), contextOf(instanceId, name));
        return { instanceId, name, keyId: sealed.keyId, sealed: sealed.box };
      }),
    )
    .onConflictDoNothing();
  const stored = await readCredentials(db, keyring, instanceId);
  return Object.fromEntries(
    stored.filter((c) => names.includes(c.name)).map((c) => [c.name, c.value]),
  );
}

/**
 * Replaces one credential with a new random value (sealed with the current
 * key) and answers its new version. The caller holds the transaction.
 */
export async function rotateCredential(
  db: Db,
  keyring: Keyring,
  instanceId: string,
  name: string,
  at: Date,
): Promise<{ version: number }> {
  const sealed = sealSecret(keyring, generateCredential(), contextOf(instanceId, name));
  const [row] = await db
    .insert(instanceCredentials)
    .values({ instanceId, name, keyId: sealed.keyId, sealed: sealed.box, updatedAt: at })
    .onConflictDoUpdate({
      target: [instanceCredentials.instanceId, instanceCredentials.name],
      set: {
        keyId: sealed.keyId,
        sealed: sealed.box,
        version: sql`${instanceCredentials.version} + 1`,
        updatedAt: at,
      },
    })
    .returning({ version: instanceCredentials.version });
  return { version: row?.version ?? 1 };
}

/** Opens one stored credential; undefined when there is none. */
export async function readCredential(
  db: Db,
  keyring: Keyring,
  instanceId: string,
  name: string,
): Promise<string | undefined> {
  const [row] = await db
    .select()
    .from(instanceCredentials)
    .where(and(eq(instanceCredentials.instanceId, instanceId), eq(instanceCredentials.name, name)));
  return row
    ? openSecret(keyring, { keyId: row.keyId, box: row.sealed }, contextOf(instanceId, name))
    : undefined;
}
