import { json } from "@minispod/shared/testing";
import { describe, expect, it } from "vitest";
import { PASSWORD, setupAuth } from "./helpers";

const t = setupAuth({ LOG_LEVEL: "error" });
const COOKIE_MODE = { "minispod-session": "cookie" };

/** The refresh token from a Set-Cookie header, checking every attribute the browser session needs. */
function refreshCookieOf(res: Response): string {
  const header = res.headers.get("set-cookie") ?? "";
  const match = /minispod_refresh=([^;]*)/.exec(header);
  expect(match, header).not.toBeNull();
  expect(header).toMatch(/;\s*HttpOnly/i);
  expect(header).toMatch(/;\s*Secure/i);
  expect(header).toMatch(/;\s*SameSite=Strict/i);
  expect(header).toMatch(/;\s*Path=\/api\/v1\/auth(;|$)/i);
  return match![1]!;
}

const email = () => `c-${crypto.randomUUID().slice(0, 8)}@example.com`;

async function registerWithCookie() {
  const res = await t.post(
    "/register",
    { email: email(), password: PASSWORD, name: "Grace Hopper" },
    COOKIE_MODE,
  );
  expect(res.status).toBe(201);
  const body = (await res.json()) as Record<string, unknown>;
  return { res, body, cookie: refreshCookieOf(res) };
}

const withCookie = (token: string) => ({ ...COOKIE_MODE, cookie: `minispod_refresh=${token}` });

describe("browser session: refresh token in an HttpOnly cookie", () => {
  it("register and login in cookie mode set the cookie and leave the token out of the body", async () => {
    const { body, cookie } = await registerWithCookie();
    expect(body.accessToken).toEqual(expect.any(String));
    expect(body).not.toHaveProperty("refreshToken");
    expect(cookie.length).toBeGreaterThan(20);

    const user = body.user as { email: string };
    const login = await t.post("/login", { email: user.email, password: PASSWORD }, COOKIE_MODE);
    expect(login.status).toBe(200);
    expect(await login.json()).not.toHaveProperty("refreshToken");
    expect(refreshCookieOf(login)).not.toBe(cookie);
  });

  it("refresh rotates the cookie and answers a new access token", async () => {
    const { cookie } = await registerWithCookie();
    const res = await t.post("/refresh", undefined, withCookie(cookie));
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.accessToken).toEqual(expect.any(String));
    expect(body).not.toHaveProperty("refreshToken");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const next = refreshCookieOf(res);
    expect(next).not.toBe(cookie);
    expect((await t.post("/refresh", undefined, withCookie(next))).status).toBe(200);
  });

  it("a rotated cookie presented again revokes the family (reuse detection) and clears the cookie", async () => {
    const { cookie } = await registerWithCookie();
    const rotated = refreshCookieOf(await t.post("/refresh", undefined, withCookie(cookie)));
    const reuse = await t.post("/refresh", undefined, withCookie(cookie));
    expect(reuse.status).toBe(401);
    expect(reuse.headers.get("set-cookie")).toMatch(/minispod_refresh=;.*Max-Age=0/i);
    // The thief's replay also ended the legitimate holder's session.
    expect((await t.post("/refresh", undefined, withCookie(rotated))).status).toBe(401);
  });

  it("without the custom header the cookie is ignored: a cross-site form cannot refresh", async () => {
    const { cookie } = await registerWithCookie();
    const res = await t.app.request("/api/v1/auth/refresh", {
      method: "POST",
      headers: { cookie: `minispod_refresh=${cookie}`, "content-type": "text/plain" },
      body: "",
    });
    // Refused before any token is looked at (415: not even JSON).
    expect(res.status).toBe(415);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("refresh in cookie mode without a cookie is 401", async () => {
    const res = await t.post("/refresh", undefined, COOKIE_MODE);
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toMatch(/problem\+json/);
  });

  it("a forged cookie is 401", async () => {
    const res = await t.post("/refresh", undefined, withCookie("forged-token-value"));
    expect(res.status).toBe(401);
  });

  it("logout in cookie mode ends the family and clears the cookie", async () => {
    const { cookie } = await registerWithCookie();
    const res = await t.post("/logout", undefined, withCookie(cookie));
    expect(res.status).toBe(204);
    expect(res.headers.get("set-cookie")).toMatch(/minispod_refresh=;.*Max-Age=0/i);
    expect((await t.post("/refresh", undefined, withCookie(cookie))).status).toBe(401);
  });

  it("password change in cookie mode rotates into a new cookie", async () => {
    const { body } = await registerWithCookie();
    const res = await t.app.request(
      "/api/v1/auth/password/change",
      json(
        { currentPassword: PASSWORD, newPassword: "another long password" },
        { ...COOKIE_MODE, authorization: `Bearer ${body.accessToken as string}` },
      ),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).not.toHaveProperty("refreshToken");
    const cookie = refreshCookieOf(res);
    expect((await t.post("/refresh", undefined, withCookie(cookie))).status).toBe(200);
  });

  it("API clients without the header keep the token in the body, and no cookie is set", async () => {
    const res = await t.post("/register", { email: email(), password: PASSWORD, name: "Ada" });
    expect(res.status).toBe(201);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await res.json()).toHaveProperty("refreshToken");
  });
});
