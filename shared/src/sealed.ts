import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/**
 * AES-256-GCM keys by id. The first one seals; every one opens, so a new key
 * is added in front and the old one stays until nothing is sealed with it.
 */
export interface Keyring {
  current: { id: string; key: Buffer };
  byId: ReadonlyMap<string, Buffer>;
}

/** A value sealed with one key of a keyring; `box` is `iv.tag.ciphertext` (base64url). */
export interface Sealed {
  keyId: string;
  box: string;
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Parses `id:base64key[,id:base64key...]` (32-byte keys, standard or URL-safe
 * base64). Throws a message naming what is wrong, never the key itself.
 *
 * @example
 * parseKeyring(`2026-12:${randomBytes(32).toString("base64")}`)
 */
export function parseKeyring(text: string): Keyring {
  const byId = new Map<string, Buffer>();
  let current: Keyring["current"] | undefined;
  for (const item of text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const colon = item.indexOf(":");
    const id = colon > 0 ? item.slice(0, colon) : "";
    if (!KEY_ID.test(id))
      throw new Error("each key must be <id>:<base64 key>, id of [A-Za-z0-9_-]");
    const key = Buffer.from(item.slice(colon + 1), "base64");
    if (key.length !== 32) throw new Error(`key "${id}" must be 32 bytes, base64-encoded`);
    if (byId.has(id)) throw new Error(`key id "${id}" is repeated`);
    byId.set(id, key);
    current ??= { id, key };
  }
  if (!current) throw new Error("needs at least one key");
  return { current, byId };
}

/**
 * The keyring of local mode and tests: a fixed key derived from a public
 * phrase, so it protects nothing. Production refuses to start without a real one.
 */
export const developmentKeyring = (): Keyring => {
  const key = createHash("sha256").update("minispod development credentials key").digest();
  return { current: { id: "dev", key }, byId: new Map([["dev", key]]) };
};

/** Seals `plaintext`; `context` (e.g. "instance-id/NAME") must be given again to open it. */
export function sealSecret(keyring: Keyring, plaintext: string, context: string): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", keyring.current.key, iv);
  cipher.setAAD(Buffer.from(`${keyring.current.id}|${context}`));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  const parts = [iv, cipher.getAuthTag(), body].map((b) => b.toString("base64url"));
  return { keyId: keyring.current.id, box: parts.join(".") };
}

/** Opens what `sealSecret` made; throws when the key is unknown or the box or context was altered. */
export function openSecret(keyring: Keyring, sealed: Sealed, context: string): string {
  const key = keyring.byId.get(sealed.keyId);
  if (!key) throw new Error(`no key "${sealed.keyId}" in the keyring`);
  const [iv, tag, body] = sealed.box.split(".").map((p) => Buffer.from(p, "base64url"));
  if (!iv || !tag || !body) throw new Error("malformed sealed value");
  const decipher = createDecipheriv("aes-256-gcm", key, iv);
  decipher.setAAD(Buffer.from(`${sealed.keyId}|${context}`));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
}
