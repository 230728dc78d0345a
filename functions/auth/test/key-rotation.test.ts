/**
 * Rotating the signing key with live sessions, as docs/deploy.md's procedure
 * does it: auth signs with the new key and publishes both public keys; every
 * function verifies by `kid` against the current and the previous key; tokens
 * of the old key stay valid until they expire; once the longest token lifetime
 * has passed, the previous key is dropped and its tokens are refused.
 */
import {
  exportKeyPem,
  generateSigningKey,
  verifierFromConfig,
  withRevocation,
} from "@minispod/shared";
import { createHarness, type Harness, json } from "@minispod/shared/testing";
import type { Hono } from "hono";
import { decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authFunction } from "../src/function";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

interface Keys {
  privatePem: string;
  publicPem: string;
}
const newKeys = async (): Promise<Keys> => exportKeyPem(await generateSigningKey());

/** auth as a deployment would start it: its verifier built from the env, like every function's. */
async function authWith(env: Record<string, string>): Promise<Hono> {
  const ctx = h.context(authFunction, env);
  const signatureVerifier = await verifierFromConfig({
    publicKeyPem: ctx.env.JWT_PUBLIC_KEY,
    previousPublicKeyPem: ctx.env.JWT_PREVIOUS_PUBLIC_KEY,
    issuer: ctx.env.JWT_ISSUER,
    audience: ctx.env.JWT_AUDIENCE,
  });
  const app = await authFunction.create({
    ...ctx,
    verifier: withRevocation(signatureVerifier, h.store),
  });
  return app as unknown as Hono;
}
const me = (app: Hono, token: string) =>
  app.request("/api/v1/auth/me", { headers: { authorization: `Bearer ${token}` } });
const kidOf = (token: string) => decodeProtectedHeader(token).kid;
const jwksKids = async (app: Hono) =>
  (
    (await (await app.request("/api/v1/auth/jwks.json")).json()) as { keys: { kid: string }[] }
  ).keys.map((k) => k.kid);

describe("rotating the access-token signing key", () => {
  it("keeps old sessions working until expiry, signs new tokens with the new key, then drops the old one", async () => {
    const old = await newKeys();
    const next = await newKeys();
    const before = await authWith({
      JWT_PRIVATE_KEY: old.privatePem,
      JWT_PUBLIC_KEY: old.publicPem,
    });
    const [oldKid] = await jwksKids(before);

    const registered = await before.request(
      "/api/v1/auth/register",
      json({ email: "rotating@example.com", password: "a long enough password", name: "Rota" }),
    );
    expect(registered.status).toBe(201);
    const session = (await registered.json()) as { accessToken: string; refreshToken: string };
    expect(kidOf(session.accessToken)).toBe(oldKid);

    // Step 2 of the procedure: the new private key, the old public key as the previous one.
    const during = await authWith({
      JWT_PRIVATE_KEY: next.privatePem,
      JWT_PUBLIC_KEY: next.publicPem,
      JWT_PREVIOUS_PUBLIC_KEY: old.publicPem,
    });
    const kids = await jwksKids(during);
    expect(kids).toHaveLength(2);
    expect(kids[1]).toBe(oldKid);
    const newKid = kids[0];
    expect(newKid).not.toBe(oldKid);

    // The live session's access token, signed by the old key, still works.
    expect((await me(during, session.accessToken)).status).toBe(200);
    // Its refresh gets a token signed by the new key, which works too.
    const refreshed = await during.request(
      "/api/v1/auth/refresh",
      json({ refreshToken: session.refreshToken }),
    );
    expect(refreshed.status).toBe(200);
    const rotated = (await refreshed.json()) as { accessToken: string; refreshToken: string };
    expect(kidOf(rotated.accessToken)).toBe(newKid);
    expect((await me(during, rotated.accessToken)).status).toBe(200);
    // A fresh login signs with the new key.
    const login = await during.request(
      "/api/v1/auth/login",
      json({ email: "rotating@example.com", password: "a long enough password" }),
    );
    expect(kidOf(((await login.json()) as { accessToken: string }).accessToken)).toBe(newKid);

    // Step 3, after the longest access-token lifetime: the previous key is dropped.
    const after = await authWith({
      JWT_PRIVATE_KEY: next.privatePem,
      JWT_PUBLIC_KEY: next.publicPem,
    });
    expect(await jwksKids(after)).toEqual([newKid]);
    expect((await me(after, session.accessToken)).status).toBe(401);
    expect((await me(after, rotated.accessToken)).status).toBe(200);
  });

  it("refuses a token whose kid names neither the current nor the previous key", async () => {
    const old = await newKeys();
    const next = await newKeys();
    const stranger = await newKeys();
    const foreign = await authWith({
      JWT_PRIVATE_KEY: stranger.privatePem,
      JWT_PUBLIC_KEY: stranger.publicPem,
    });
    const registered = await foreign.request(
      "/api/v1/auth/register",
      json({ email: "stranger@example.com", password: "a long enough password", name: "S" }),
    );
    const { accessToken } = (await registered.json()) as { accessToken: string };
    const during = await authWith({
      JWT_PRIVATE_KEY: next.privatePem,
      JWT_PUBLIC_KEY: next.publicPem,
      JWT_PREVIOUS_PUBLIC_KEY: old.publicPem,
    });
    expect((await me(during, accessToken)).status).toBe(401);
  });
});
