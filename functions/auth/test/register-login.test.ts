import { auditLog, users } from "@minispod/db";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { PASSWORD, setupAuth } from "./helpers";

const t = setupAuth();

describe("register", () => {
  it("creates a customer, answers 201 with tokens, and emits user.registered", async () => {
    const res = await t.post("/register", {
      email: "  Grace@Example.COM ",
      password: PASSWORD,
      name: "Grace",
    });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body.user).toMatchObject({
      email: "grace@example.com",
      name: "Grace",
      role: "CUSTOMER",
      emailVerified: false,
    });
    expect(body.user).not.toHaveProperty("passwordHash");
    expect(JSON.stringify(body)).not.toContain("$2b$");
    expect(body).toMatchObject({ tokenType: "Bearer", expiresIn: 900 });
    expect(typeof body.accessToken).toBe("string");
    expect(typeof body.refreshToken).toBe("string");
    const event = await t.lastEvent("user.registered", body.user.id);
    expect(event).toMatchObject({ userId: body.user.id, email: "grace@example.com" });
    expect(event?.verificationToken).toBeTruthy();
    const [row] = await t.h.database.db.select().from(users).where(eq(users.id, body.user.id));
    expect(row?.passwordHash.startsWith("$2b$04$")).toBe(true);
    const [audit] = await t.h.database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.resourceId, body.user.id));
    expect(audit).toMatchObject({
      action: "user.register",
      actorId: body.user.id,
      ownerId: body.user.id,
    });
  });

  it("refuses a duplicate email in any letter case with 409", async () => {
    await t.register("dup@example.com");
    const res = await t.post("/register", {
      email: "DUP@example.com",
      password: PASSWORD,
      name: "Again",
    });
    expect(res.status).toBe(409);
    const body = await res.json();
    expect(body.code).toBe("EMAIL_TAKEN");
    expect(res.headers.get("content-type")).toContain("application/problem+json");
  });

  it("lists every invalid field", async () => {
    const res = await t.post("/register", { email: "not-an-email", password: "short", name: "" });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.code).toBe("VALIDATION_FAILED");
    expect(body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      "email",
      "name",
      "password",
    ]);
  });

  it("refuses passwords longer than bcrypt reads (72 bytes)", async () => {
    const res = await t.post("/register", {
      email: "long@example.com",
      password: "é".repeat(40),
      name: "L",
    });
    expect(res.status).toBe(400);
    expect((await res.json()).errors[0].field).toBe("password");
  });

  it.each([
    ["wrong types", JSON.stringify({ email: 1, password: [], name: {} }), "application/json", 400],
    ["malformed JSON", '{"email":', "application/json", 400],
    ["a JSON array", "[]", "application/json", 400],
    ["an empty body", "", "application/json", 400],
    ["a form body", "email=a", "application/x-www-form-urlencoded", 415],
  ])("answers %s with a problem+json 4xx", async (_, body, type, status) => {
    const res = await t.app.request("/api/v1/auth/register", {
      method: "POST",
      headers: { "content-type": type, "x-forwarded-for": t.ip() },
      body,
    });
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const text = await res.text();
    expect(text).not.toMatch(/at .*\.ts:\d+/);
  });

  it("answers an oversized body with 413", async () => {
    const res = await t.post("/register", {
      email: "big@example.com",
      password: PASSWORD,
      name: "x".repeat(2_000_000),
    });
    expect(res.status).toBe(413);
  });
});

describe("login", () => {
  it("answers the contract shape for the right password", async () => {
    await t.register("ok@example.com");
    const res = await t.post("/login", { email: "OK@example.com", password: PASSWORD });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      tokenType: "Bearer",
      expiresIn: 900,
      user: { email: "ok@example.com" },
    });
    const me = await t.app.request("/api/v1/auth/me", {
      headers: { authorization: `Bearer ${body.accessToken}` },
    });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({
      email: "ok@example.com",
      role: "CUSTOMER",
      emailVerified: false,
    });
  });

  it("answers a wrong password and an unknown email identically", async () => {
    await t.register("known@example.com");
    const wrong = await t.post("/login", {
      email: "known@example.com",
      password: "not the password",
    });
    const unknown = await t.post("/login", {
      email: "nobody@example.com",
      password: "not the password",
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const strip = (b: Record<string, unknown>) => ({ ...b, requestId: undefined });
    expect(strip(await wrong.json())).toEqual(strip(await unknown.json()));
  });

  it("refuses a disabled account that knows its password with 403, and a wrong password with the usual 401", async () => {
    const { user } = await t.register("disabled@example.com");
    await t.h.database.db
      .update(users)
      .set({ disabledAt: new Date() })
      .where(eq(users.id, user.id));
    const right = await t.post("/login", { email: "disabled@example.com", password: PASSWORD });
    expect(right.status).toBe(403);
    expect((await right.json()).code).toBe("ACCOUNT_DISABLED");
    const wrong = await t.post("/login", {
      email: "disabled@example.com",
      password: "nope nope nope",
    });
    expect(wrong.status).toBe(401);
  });

  it("rate-limits attempts on one account with 429 and Retry-After", async () => {
    await t.register("target@example.com");
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 11; i++) {
      last = await t.post("/login", { email: "target@example.com", password: "guess guess guess" });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses[10]).toBe(429);
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await last!.json()).code).toBe("RATE_LIMITED");
    // The counter is keyed by a keyed hash of the address, never the address itself.
    const keys = await t.h.redis.keys(`${t.h.redisPrefix}rl:auth:login-email:*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).not.toMatch(/@|example\.com|target/);
  });

  it("rate-limits registrations from one address", async () => {
    const headers = { "x-forwarded-for": "203.0.113.77" };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await t.post(
        "/register",
        { email: `burst${i}@example.com`, password: PASSWORD, name: "B" },
        headers,
      );
      statuses.push(res.status);
    }
    expect(statuses).toEqual([201, 201, 201, 201, 201, 429]);
  });

  it("ignores spoofed X-Forwarded-For entries left of the trusted proxy's", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await t.post(
        "/register",
        { email: `spoof${i}@example.com`, password: PASSWORD, name: "S" },
        { "x-forwarded-for": `10.9.9.${i}, 203.0.113.88` },
      );
      statuses.push(res.status);
    }
    expect(statuses.at(-1)).toBe(429);
  });
});

describe("me", () => {
  it("updates the name and refuses an empty update", async () => {
    const { accessToken } = await t.register();
    const headers = { authorization: `Bearer ${accessToken}`, "content-type": "application/json" };
    const ok = await t.app.request("/api/v1/auth/me", {
      method: "PATCH",
      headers,
      body: JSON.stringify({ name: "Renamed" }),
    });
    expect(ok.status).toBe(200);
    expect((await ok.json()).name).toBe("Renamed");
    const empty = await t.app.request("/api/v1/auth/me", { method: "PATCH", headers, body: "{}" });
    expect(empty.status).toBe(400);
  });

  it("refuses the token of an account disabled after it was issued", async () => {
    const { user, accessToken } = await t.register();
    await t.h.database.db
      .update(users)
      .set({ disabledAt: new Date() })
      .where(eq(users.id, user.id));
    const res = await t.app.request("/api/v1/auth/me", {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(res.status).toBe(403);
  });
});
