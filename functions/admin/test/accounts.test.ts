import { auditLog, refreshTokens, users } from "@minispod/db";
import { json, runRouteSecurityTests, type TestUser } from "@minispod/shared/testing";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AdminTest, invalidFields, seedHolding, setupAdmin } from "./helpers";

let t: AdminTest;
beforeAll(async () => {
  t = await setupAdmin();
});
afterAll(() => t.close());

const db = () => t.h.database.db;
const setRole = (target: string, role: string, caller: TestUser = t.superAdmin) =>
  t.app.request(
    `/api/v1/admin/users/${target}/role`,
    json({ role }, { ...t.h.bearer(caller), "user-agent": "admin-test/1" }, "PATCH"),
  );
const disable = (target: string, caller: TestUser = t.admin, body: object = {}) =>
  t.app.request(`/api/v1/admin/users/${target}/disable`, json(body, t.h.bearer(caller)));
const enable = (target: string, caller: TestUser = t.admin) =>
  t.app.request(`/api/v1/admin/users/${target}/enable`, {
    method: "POST",
    headers: t.h.bearer(caller),
  });
/** Any authenticated route of the admin app: does this token still work? */
const me = (user: TestUser) => t.app.request("/api/v1/audit", { headers: t.h.bearer(user) });

async function refreshTokenFor(userId: string) {
  await db()
    .insert(refreshTokens)
    .values({
      userId,
      familyId: crypto.randomUUID(),
      tokenHash: `hash-${crypto.randomUUID()}`,
      expiresAt: new Date(Date.now() + 86_400_000),
    });
}
async function liveRefreshTokens(userId: string) {
  const rows = await db().select().from(refreshTokens).where(eq(refreshTokens.userId, userId));
  return rows.filter((r) => !r.revokedAt).length;
}
async function auditOf(resourceId: string, action: string) {
  const response = await t.app.request(
    `/api/v1/admin/audit?resourceType=user&resourceId=${resourceId}&action=${action}`,
    { headers: t.h.bearer(t.admin) },
  );
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: Record<string, unknown>[] }).items;
}

describe("PATCH /api/v1/admin/users/:id/role", () => {
  it("lets a SUPER_ADMIN change a role, ends the user's sessions and writes the audit", async () => {
    const user = await t.h.user();
    await refreshTokenFor(user.id);
    expect((await me(user)).status).toBe(200);

    const response = await setRole(user.id, "ADMIN");
    expect(response.status).toBe(200);
    const body = (await response.json()) as { user: { role: string }; previousRole: string };
    expect(body).toMatchObject({
      user: { role: "ADMIN" },
      previousRole: "CUSTOMER",
      changed: true,
    });
    const [row] = await db().select().from(users).where(eq(users.id, user.id));
    expect(row!.role).toBe("ADMIN");

    // The old token (role CUSTOMER) is refused at once; no refresh token is left.
    expect((await me(user)).status).toBe(401);
    expect(await liveRefreshTokens(user.id)).toBe(0);

    const [entry] = await auditOf(user.id, "user.role_changed");
    expect(entry).toMatchObject({
      actor: { id: t.superAdmin.id, role: "SUPER_ADMIN" },
      metadata: { from: "CUSTOMER", to: "ADMIN" },
      userAgent: "admin-test/1",
    });
    expect(entry!.requestId).toEqual(expect.any(String));
  });

  it("changes nothing (and writes no audit) when the role is the same", async () => {
    const user = await t.h.user();
    const response = await setRole(user.id, "CUSTOMER");
    expect(await response.json()).toMatchObject({ changed: false, previousRole: "CUSTOMER" });
    expect(await auditOf(user.id, "user.role_changed")).toEqual([]);
    expect((await me(user)).status).toBe(200);
  });

  it("answers 403 to an ADMIN (who may use the other admin routes)", async () => {
    const user = await t.h.user();
    const response = await setRole(user.id, "ADMIN", t.admin);
    expect(response.status).toBe(403);
    const [row] = await db().select().from(users).where(eq(users.id, user.id));
    expect(row!.role).toBe("CUSTOMER");
  });

  it("answers 403 to a SUPER_ADMIN token whose holder was demoted meanwhile", async () => {
    const stale = await t.h.user({ role: "SUPER_ADMIN" });
    await db().update(users).set({ role: "ADMIN" }).where(eq(users.id, stale.id));
    const target = await t.h.user();
    expect((await setRole(target.id, "ADMIN", stale)).status).toBe(403);
  });

  it("answers 404 to an unknown user, 400 to a bad id or role", async () => {
    expect((await setRole("00000000-0000-4000-8000-000000000000", "ADMIN")).status).toBe(404);
    const badId = await setRole("nope", "ADMIN");
    expect(badId.status).toBe(400);
    expect(await invalidFields(badId)).toContain("id");
    const badRole = await setRole(t.customer.id, "ROOT");
    expect(badRole.status).toBe(400);
    expect(await invalidFields(badRole)).toContain("role");
  });

  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
    method: "PATCH",
    path: () => `/api/v1/admin/users/${t.other.id}/role`,
    body: { role: "CUSTOMER" },
    roles: ["SUPER_ADMIN"],
  });
});

describe("the last SUPER_ADMIN", () => {
  it("can't be demoted (409), nor demote themselves; another SUPER_ADMIN makes it possible", async () => {
    // Only SUPER_ADMINs of this test: the others are demoted first (there is one, t.superAdmin).
    const h = await setupAdmin();
    try {
      const only = h.superAdmin;
      const res = await h.app.request(
        `/api/v1/admin/users/${only.id}/role`,
        json({ role: "ADMIN" }, h.h.bearer(only), "PATCH"),
      );
      expect(res.status).toBe(409);
      expect(((await res.json()) as { code: string }).code).toBe("CONFLICT");

      // A disabled SUPER_ADMIN does not count as another one.
      const dormant = await h.h.user({ role: "SUPER_ADMIN", disabled: true });
      const still = await h.app.request(
        `/api/v1/admin/users/${only.id}/role`,
        json({ role: "ADMIN" }, h.h.bearer(only), "PATCH"),
      );
      expect(still.status).toBe(409);

      const second = await h.h.user({ role: "SUPER_ADMIN" });
      const ok = await h.app.request(
        `/api/v1/admin/users/${only.id}/role`,
        json({ role: "ADMIN" }, h.h.bearer(second), "PATCH"),
      );
      expect(ok.status).toBe(200);
      const left = await h.h.database.db
        .select({ id: users.id })
        .from(users)
        .where(eq(users.role, "SUPER_ADMIN"));
      expect(left.map((u) => u.id).sort()).toEqual([dormant.id, second.id].sort());
    } finally {
      await h.close();
    }
  });

  it("stays when the only two SUPER_ADMINs demote each other at the same time: one wins", async () => {
    for (let round = 0; round < 3; round++) {
      const h = await setupAdmin();
      try {
        const a = h.superAdmin;
        const b = await h.h.user({ role: "SUPER_ADMIN" });
        const demote = (target: TestUser, caller: TestUser) =>
          h.app.request(
            `/api/v1/admin/users/${target.id}/role`,
            json({ role: "ADMIN" }, h.h.bearer(caller), "PATCH"),
          );
        // Each demotes the other, and each demotes themselves: four racing requests.
        const results = await Promise.all([demote(b, a), demote(a, b), demote(a, a), demote(b, b)]);
        // A loser may also find its own token revoked by the winner's demotion (401): never a 5xx.
        const statuses = results.map((r) => r.status);
        expect(statuses.filter((s) => [200, 401, 403, 409].includes(s))).toEqual(statuses);
        // A demotion of someone already demoted by the winner answers 200 `changed: false`.
        const changed = await Promise.all(
          results
            .filter((r) => r.status === 200)
            .map(async (r) => ((await r.json()) as { changed: boolean }).changed),
        );
        expect(changed.filter(Boolean)).toHaveLength(1);
        const left = await h.h.database.db
          .select({ id: users.id })
          .from(users)
          .where(eq(users.role, "SUPER_ADMIN"));
        expect(left).toHaveLength(1);
        const changes = await h.h.database.db
          .select()
          .from(auditLog)
          .where(eq(auditLog.action, "user.role_changed"));
        expect(changes).toHaveLength(1);
      } finally {
        await h.close();
      }
    }
  });
});

describe("POST /api/v1/admin/users/:id/disable and /enable", () => {
  it("disables: sign-in blocked, sessions and tokens revoked at once, nothing suspended, audited", async () => {
    const user = await t.h.user();
    await seedHolding(db(), user.id, { status: "ACTIVE", instance: "RUNNING" });
    await seedHolding(db(), user.id, { status: "PAST_DUE", instance: "RUNNING" });
    await seedHolding(db(), user.id, { status: "CANCELLED", instance: "DELETED" });
    await refreshTokenFor(user.id);
    expect((await me(user)).status).toBe(200);

    const response = await disable(user.id, t.admin, { reason: "chargeback fraud" });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      user: { disabledAt: string | null };
      liveSubscriptions: number;
      runningInstances: number;
      note: string;
    };
    expect(body).toMatchObject({ changed: true, liveSubscriptions: 2, runningInstances: 2 });
    expect(body.user.disabledAt).toEqual(expect.any(String));
    expect(body.note).toMatch(/keep running/);

    expect((await me(user)).status).toBe(401);
    expect(await liveRefreshTokens(user.id)).toBe(0);
    const [entry] = await auditOf(user.id, "user.disabled");
    expect(entry).toMatchObject({
      actor: { id: t.admin.id, role: "ADMIN" },
      metadata: { reason: "chargeback fraud", liveSubscriptions: 2, runningInstances: 2 },
    });

    // Disabling again changes nothing and writes nothing.
    const again = await disable(user.id);
    expect(await again.json()).toMatchObject({ changed: false });
    expect(await auditOf(user.id, "user.disabled")).toHaveLength(1);

    // Enabling lets them sign in again; their old token stays revoked.
    const enabled = await enable(user.id);
    expect(enabled.status).toBe(200);
    expect(await enabled.json()).toMatchObject({ changed: true, user: { disabledAt: null } });
    const [row] = await db().select().from(users).where(eq(users.id, user.id));
    expect(row!.disabledAt).toBeNull();
    expect((await me(user)).status).toBe(401);
    expect(await auditOf(user.id, "user.enabled")).toHaveLength(1);
    expect(await (await enable(user.id)).json()).toMatchObject({ changed: false });
  });

  it("refuses to disable or enable oneself (409)", async () => {
    const response = await disable(t.admin.id, t.admin);
    expect(response.status).toBe(409);
    expect((await enable(t.admin.id, t.admin)).status).toBe(409);
    expect((await me(t.admin)).status).toBe(200);
  });

  it("lets only a SUPER_ADMIN disable or enable a SUPER_ADMIN", async () => {
    const boss = await t.h.user({ role: "SUPER_ADMIN" });
    expect((await disable(boss.id, t.admin)).status).toBe(403);
    expect((await me(boss)).status).toBe(200);
    expect((await disable(boss.id, t.superAdmin)).status).toBe(200);
    expect((await enable(boss.id, t.admin)).status).toBe(403);
    expect((await enable(boss.id, t.superAdmin)).status).toBe(200);
  });

  it("lets an ADMIN disable another ADMIN", async () => {
    const peer = await t.h.user({ role: "ADMIN" });
    expect((await disable(peer.id, t.admin)).status).toBe(200);
    expect((await me(peer)).status).toBe(401);
  });

  it("answers 404 to an unknown user, 400 to a bad id or reason", async () => {
    expect((await disable("00000000-0000-4000-8000-000000000000")).status).toBe(404);
    expect((await enable("00000000-0000-4000-8000-000000000000")).status).toBe(404);
    expect((await disable("bad")).status).toBe(400);
    expect((await enable("bad")).status).toBe(400);
    const long = await disable(t.other.id, t.admin, { reason: "x".repeat(501) });
    expect(long.status).toBe(400);
    expect(await invalidFields(long)).toContain("reason");
    const wrongType = await disable(t.other.id, t.admin, { reason: 42 });
    expect(wrongType.status).toBe(400);
    const [row] = await db().select().from(users).where(eq(users.id, t.other.id));
    expect(row!.disabledAt).toBeNull();
  });

  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
    method: "POST",
    path: () => `/api/v1/admin/users/${t.other.id}/disable`,
    body: {},
    roles: ["ADMIN", "SUPER_ADMIN"],
  });
  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
    method: "POST",
    path: () => `/api/v1/admin/users/${t.other.id}/enable`,
    roles: ["ADMIN", "SUPER_ADMIN"],
  });
});

describe("audit rows of admin changes", () => {
  it("are written in the change's transaction: a refused change leaves none", async () => {
    const before = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.resourceId, t.admin.id), eq(auditLog.action, "user.disabled")));
    await disable(t.admin.id, t.admin);
    const after = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.resourceId, t.admin.id), eq(auditLog.action, "user.disabled")));
    expect(after).toHaveLength(before.length);
  });
});
