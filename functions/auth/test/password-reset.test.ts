import { authTokens, users } from "@minispod/db";
import { json } from "@minispod/shared/testing";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { PASSWORD, setupAuth } from "./helpers";

const t = setupAuth();

describe("forgot password", () => {
  it("answers 202 with the same body for known and unknown emails; only the known one gets a token", async () => {
    const reg = await t.register();
    const known = await t.post("/password/forgot", { email: reg.user.email });
    const unknown = await t.post("/password/forgot", { email: "nobody-here@example.com" });
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(await known.json()).toEqual(await unknown.json());
    const event = await t.lastEvent("user.password_reset_requested", reg.user.id);
    expect(event?.token).toBeTruthy();
    const stored = await t.h.database.db
      .select()
      .from(authTokens)
      .where(eq(authTokens.userId, reg.user.id));
    // Only the hash is stored.
    expect(stored.some((row) => row.tokenHash === event?.token)).toBe(false);
  });

  it("validates the email", async () => {
    const res = await t.post("/password/forgot", { email: "nope" });
    expect(res.status).toBe(400);
  });
});

describe("reset password", () => {
  it("sets the new password once; the token cannot be used again; sessions end", async () => {
    const reg = await t.register();
    await t.post("/password/forgot", { email: reg.user.email });
    const { token } = (await t.lastEvent("user.password_reset_requested", reg.user.id))!;
    const ok = await t.post("/password/reset", { token, password: "brand new password" });
    expect(ok.status).toBe(204);
    expect(
      (await t.post("/login", { email: reg.user.email, password: "brand new password" })).status,
    ).toBe(200);
    expect((await t.post("/login", { email: reg.user.email, password: PASSWORD })).status).toBe(
      401,
    );
    const again = await t.post("/password/reset", { token, password: "third password here" });
    expect(again.status).toBe(422);
    expect((await again.json()).errors[0].field).toBe("token");
    expect((await t.post("/refresh", { refreshToken: reg.refreshToken })).status).toBe(401);
    const me = await t.app.request("/api/v1/auth/me", {
      headers: { authorization: `Bearer ${reg.accessToken}` },
    });
    expect(me.status).toBe(401);
  });

  it("refuses an expired token", async () => {
    const reg = await t.register();
    await t.post("/password/forgot", { email: reg.user.email });
    const { token } = (await t.lastEvent("user.password_reset_requested", reg.user.id))!;
    await t.h.database.db
      .update(authTokens)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(authTokens.userId, reg.user.id));
    expect(
      (await t.post("/password/reset", { token, password: "brand new password" })).status,
    ).toBe(422);
  });

  it("expires reset tokens within an hour", async () => {
    const reg = await t.register();
    await t.post("/password/forgot", { email: reg.user.email });
    const event = (await t.lastEvent("user.password_reset_requested", reg.user.id))!;
    const lifetime = new Date(event.expiresAt!).getTime() - Date.now();
    expect(lifetime).toBeGreaterThan(50 * 60_000);
    expect(lifetime).toBeLessThanOrEqual(60 * 60_000);
  });

  it("keeps only the newest reset token valid", async () => {
    const reg = await t.register();
    await t.post("/password/forgot", { email: reg.user.email });
    const first = (await t.lastEvent("user.password_reset_requested", reg.user.id))!.token;
    await new Promise((r) => setTimeout(r, 5));
    await t.post("/password/forgot", { email: reg.user.email });
    const second = (await t.lastEvent("user.password_reset_requested", reg.user.id))!.token;
    expect(
      (await t.post("/password/reset", { token: first, password: "brand new password" })).status,
    ).toBe(422);
    expect(
      (await t.post("/password/reset", { token: second, password: "brand new password" })).status,
    ).toBe(204);
  });

  it("rate-limits reset requests for one email", async () => {
    const reg = await t.register();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await t.post("/password/forgot", { email: reg.user.email })).status);
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429]);
  });
});

describe("email verification", () => {
  it("verifies with the token from user.registered, once", async () => {
    const reg = await t.register();
    const { verificationToken } = (await t.lastEvent("user.registered", reg.user.id))!;
    expect((await t.post("/email/verify", { token: verificationToken })).status).toBe(204);
    const [row] = await t.h.database.db.select().from(users).where(eq(users.id, reg.user.id));
    expect(row?.emailVerifiedAt).not.toBeNull();
    expect((await t.post("/email/verify", { token: verificationToken })).status).toBe(422);
  });

  it("resends a fresh token to an unverified account, and 409 once verified", async () => {
    const reg = await t.register();
    const headers = { authorization: `Bearer ${reg.accessToken}` };
    const res = await t.app.request("/api/v1/auth/email/resend", { method: "POST", headers });
    expect(res.status).toBe(202);
    const { token } = (await t.lastEvent("user.email_verification_requested", reg.user.id))!;
    expect((await t.post("/email/verify", { token })).status).toBe(204);
    const again = await t.app.request("/api/v1/auth/email/resend", { method: "POST", headers });
    expect(again.status).toBe(409);
  });

  it("validates the body", async () => {
    expect((await t.app.request("/api/v1/auth/email/verify", json({}))).status).toBe(400);
  });
});
