import { refreshTokens } from "@minispod/db";
import {
  type AppEnv,
  createTokenSigner,
  handleError,
  requireAuth,
  signingKeyFromPem,
} from "@minispod/shared";
import {
  expiredToken,
  foreignToken,
  hsConfusionToken,
  json,
  runRouteSecurityTests,
  tamperedToken,
  unsignedToken,
} from "@minispod/shared/testing";
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { authFunction } from "../src/function";
import { createPasswordHasher } from "../src/services/passwords";
import { PASSWORD, setupAuth } from "./helpers";

const t = setupAuth();
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("refresh", () => {
  it("rotates: the new pair works, the old refresh token is spent", async () => {
    const first = await t.register();
    const res = await t.post("/refresh", { refreshToken: first.refreshToken });
    expect(res.status).toBe(200);
    const second = await res.json();
    expect(second).toMatchObject({
      tokenType: "Bearer",
      expiresIn: 900,
      user: { id: first.user.id },
    });
    expect(second.refreshToken).not.toBe(first.refreshToken);
    const me = await t.app.request("/api/v1/auth/me", { headers: bearer(second.accessToken) });
    expect(me.status).toBe(200);
    const third = await t.post("/refresh", { refreshToken: second.refreshToken });
    expect(third.status).toBe(200);
  });

  it("revokes the whole family when a rotated token is presented again", async () => {
    const first = await t.register();
    const second = await (await t.post("/refresh", { refreshToken: first.refreshToken })).json();
    // The attacker replays the stolen, already rotated token...
    const replay = await t.post("/refresh", { refreshToken: first.refreshToken });
    expect(replay.status).toBe(401);
    expect((await replay.json()).code).toBe("INVALID_TOKEN");
    // ...and the legitimate holder's current token is dead too.
    const legit = await t.post("/refresh", { refreshToken: second.refreshToken });
    expect(legit.status).toBe(401);
    const family = await t.h.database.db
      .select()
      .from(refreshTokens)
      .where(eq(refreshTokens.userId, first.user.id));
    expect(family.every((row) => row.revokedAt !== null)).toBe(true);
  });

  it("leaves other sessions of the user alone when one family is revoked", async () => {
    const reg = await t.register();
    const other = await (
      await t.post("/login", { email: reg.user.email, password: PASSWORD })
    ).json();
    await t.post("/refresh", { refreshToken: reg.refreshToken });
    await t.post("/refresh", { refreshToken: reg.refreshToken }); // reuse -> family of reg revoked
    expect((await t.post("/refresh", { refreshToken: other.refreshToken })).status).toBe(200);
  });

  it("refuses unknown, expired and malformed refresh tokens", async () => {
    expect((await t.post("/refresh", { refreshToken: "nope" })).status).toBe(401);
    const reg = await t.register();
    await t.h.database.db
      .update(refreshTokens)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(refreshTokens.userId, reg.user.id));
    expect((await t.post("/refresh", { refreshToken: reg.refreshToken })).status).toBe(401);
    const invalid = await t.post("/refresh", { refreshToken: 42 });
    expect(invalid.status).toBe(400);
  });
});

describe("logout", () => {
  it("ends the session of that refresh token and answers 204, also for unknown tokens", async () => {
    const reg = await t.register();
    expect((await t.post("/logout", { refreshToken: reg.refreshToken })).status).toBe(204);
    expect((await t.post("/refresh", { refreshToken: reg.refreshToken })).status).toBe(401);
    expect((await t.post("/logout", { refreshToken: "never-issued" })).status).toBe(204);
  });

  it("logout/all ends every session of the caller", async () => {
    const reg = await t.register();
    const other = await (
      await t.post("/login", { email: reg.user.email, password: PASSWORD })
    ).json();
    const res = await t.app.request("/api/v1/auth/logout/all", {
      method: "POST",
      headers: bearer(reg.accessToken),
    });
    expect(res.status).toBe(204);
    expect((await t.post("/refresh", { refreshToken: reg.refreshToken })).status).toBe(401);
    expect((await t.post("/refresh", { refreshToken: other.refreshToken })).status).toBe(401);
  });
});

describe("change password", () => {
  it("needs the current password, revokes other sessions, and returns a fresh session", async () => {
    const reg = await t.register();
    const other = await (
      await t.post("/login", { email: reg.user.email, password: PASSWORD })
    ).json();
    const wrong = await t.app.request(
      "/api/v1/auth/password/change",
      json(
        { currentPassword: "not it at all", newPassword: "another long password" },
        bearer(reg.accessToken),
      ),
    );
    expect(wrong.status).toBe(400);
    expect((await wrong.json()).errors[0].field).toBe("currentPassword");
    const ok = await t.app.request(
      "/api/v1/auth/password/change",
      json(
        { currentPassword: PASSWORD, newPassword: "another long password" },
        bearer(reg.accessToken),
      ),
    );
    expect(ok.status).toBe(200);
    const fresh = await ok.json();
    expect((await t.post("/refresh", { refreshToken: other.refreshToken })).status).toBe(401);
    expect((await t.post("/refresh", { refreshToken: fresh.refreshToken })).status).toBe(200);
    expect(
      (await t.post("/login", { email: reg.user.email, password: "another long password" })).status,
    ).toBe(200);
    expect(await t.lastEvent("user.password_changed", reg.user.id)).toMatchObject({
      userId: reg.user.id,
    });
  });
});

describe("access tokens", () => {
  it("are rejected when expired, unsigned, HS256-signed with the public key, foreign or tampered", async () => {
    const reg = await t.register();
    const cases: [string, string, string][] = [
      ["expired", await expiredToken(t.h.signingKey, reg.user.id), "TOKEN_EXPIRED"],
      ["alg none", unsignedToken(reg.user.id), "INVALID_TOKEN"],
      [
        "HS256 with public key",
        await hsConfusionToken(t.h.publicKeyPem, reg.user.id),
        "INVALID_TOKEN",
      ],
      ["wrong key", await foreignToken(reg.user.id), "INVALID_TOKEN"],
      ["tampered payload", tamperedToken(reg.accessToken), "INVALID_TOKEN"],
      ["garbage", "abc.def.ghi", "INVALID_TOKEN"],
    ];
    for (const [name, token, code] of cases) {
      const res = await t.app.request("/api/v1/auth/me", { headers: bearer(token) });
      expect({ name, status: res.status }).toEqual({ name, status: 401 });
      expect((await res.json()).code).toBe(code);
    }
  });

  it("are verifiable by anyone with the published JWKS", async () => {
    const res = await t.app.request("/api/v1/auth/jwks.json");
    expect(res.status).toBe(200);
    const { keys } = await res.json();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
    expect(keys[0]).not.toHaveProperty("d");
  });
});

describe("unknown emails cost the same bcrypt work as known ones", () => {
  it("runs one verification per login attempt, real or dummy", async () => {
    const env = t.h.env(authFunction);
    const real = createPasswordHasher(4);
    const calls = { verify: 0, dummy: 0 };
    const counted = {
      hash: real.hash,
      verify: (p: string, h: string) => {
        calls.verify++;
        return real.verify(p, h);
      },
      verifyDummy: (p: string) => {
        calls.dummy++;
        return real.verifyDummy(p);
      },
    };
    const ctx = t.h.context(authFunction);
    const signer = createTokenSigner(await signingKeyFromPem(env.JWT_PRIVATE_KEY), {
      issuer: "minispod",
      audience: "minispod-api",
    });
    const app = createApp({ ...ctx, signer, passwords: counted }) as unknown as Hono;
    const send = (email: string) =>
      app.request(
        "/api/v1/auth/login",
        json({ email, password: "wrong password!" }, { "x-forwarded-for": t.ip() }),
      );
    await t.register("timing@example.com");
    expect((await send("timing@example.com")).status).toBe(401);
    expect((await send("missing@example.com")).status).toBe(401);
    expect(calls).toEqual({ verify: 1, dummy: 1 });
  });
});

describe("route security", () => {
  for (const route of [
    { method: "GET" as const, path: "/api/v1/auth/me" },
    { method: "PATCH" as const, path: "/api/v1/auth/me", body: { name: "x" } },
    {
      method: "POST" as const,
      path: "/api/v1/auth/password/change",
      body: { currentPassword: "a", newPassword: "bbbbbbbbbbbb" },
    },
    { method: "POST" as const, path: "/api/v1/auth/email/resend" },
    { method: "POST" as const, path: "/api/v1/auth/logout/all" },
  ]) {
    runRouteSecurityTests(() => ({ app: t.app as never, harness: t.h }), route);
  }
});

describe("access tokens after a password change, in other functions", () => {
  it("are refused by any function sharing the cache, while the new session's token works", async () => {
    const reg = await t.register();
    // Another function: only the shared verifier (signature + revocation check) guards it.
    const other = new Hono<AppEnv>();
    other.get("/thing", requireAuth(t.h.context(authFunction).verifier), (c) =>
      c.json({ ok: true }),
    );
    other.onError(handleError);
    expect((await other.request("/thing", { headers: bearer(reg.accessToken) })).status).toBe(200);
    const changed = await t.app.request(
      "/api/v1/auth/password/change",
      json(
        { currentPassword: PASSWORD, newPassword: "another long password" },
        bearer(reg.accessToken),
      ),
    );
    const fresh = await changed.json();
    expect((await other.request("/thing", { headers: bearer(reg.accessToken) })).status).toBe(401);
    expect((await other.request("/thing", { headers: bearer(fresh.accessToken) })).status).toBe(
      200,
    );
  });

  it("are refused after logout everywhere", async () => {
    const reg = await t.register();
    const other = new Hono<AppEnv>();
    other.get("/thing", requireAuth(t.h.context(authFunction).verifier), (c) =>
      c.json({ ok: true }),
    );
    other.onError(handleError);
    await t.app.request("/api/v1/auth/logout/all", {
      method: "POST",
      headers: bearer(reg.accessToken),
    });
    expect((await other.request("/thing", { headers: bearer(reg.accessToken) })).status).toBe(401);
  });
});
