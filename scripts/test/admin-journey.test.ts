import { json } from "@minispod/shared/testing";
import { describe, expect, it } from "vitest";
import { localJourney } from "./support/journey";

/**
 * The admin function among the others, as `npm start` assembles them: a
 * customer's own actions in every function land in the audit trail they can
 * read, and a user an admin disables is refused by every other function at
 * once, with the token they already hold.
 */
const journey = localJourney("admin", { K8S_SIMULATED_DELAY_MS: "0" });
const api = journey.api;
type Auth = { authorization: string };
const bearer = (token: string): Auth => ({ authorization: `Bearer ${token}` });

async function register(email: string) {
  const res = await api("/auth/register", json({ email, password: "a long password", name: "C" }));
  expect(res.status).toBe(201);
  const body = await res.json();
  return {
    id: body.user.id as string,
    auth: bearer(body.accessToken),
    refreshToken: body.refreshToken as string,
  };
}
async function login(email: string, password: string) {
  return api("/auth/login", json({ email, password }));
}
async function adminAuth(): Promise<Auth> {
  const res = await login("admin@minispod.local", "admin password 1");
  expect(res.status).toBe(200);
  return bearer((await res.json()).accessToken);
}

describe("the audit trail of a customer's own actions", () => {
  it("records each action in its function, readable by the customer at /api/v1/audit", async () => {
    const email = "audited@example.com";
    const me = await register(email);
    const send = async (path: string, init: RequestInit, status = 200) => {
      const res = await api(path, init);
      expect(res.status, `${init.method} ${path}`).toBe(status);
      return res.status === 204 ? undefined : await res.json();
    };

    await send("/auth/me", json({ name: "Renamed" }, me.auth, "PATCH"));
    const hook = await send(
      "/webhooks",
      json({ url: journey.receiver.url("/audited"), events: ["subscription.activated"] }, me.auth),
      201,
    );
    await send(`/webhooks/${hook.id}`, json({ description: "ops" }, me.auth, "PATCH"));
    await send(`/webhooks/${hook.id}/rotate-secret`, json({}, me.auth));
    await send(`/webhooks/${hook.id}`, { method: "DELETE", headers: me.auth }, 204);

    const subscription = await send(
      "/subscriptions",
      json({ serviceSlug: "uptime-kuma" }, { ...me.auth, "idempotency-key": "a-1" }),
      201,
    );
    await send(`/subscriptions/${subscription.id}`, json({ autoRenew: false }, me.auth, "PATCH"));
    await send(
      `/subscriptions/${subscription.id}/renew`,
      json({}, { ...me.auth, "idempotency-key": "r-1" }),
    );
    await journey.runner.settle();
    await send(`/instances/${subscription.instance.id}/restart`, json({}, me.auth), 202);

    const changed = await send(
      "/auth/password/change",
      json({ currentPassword: "a long password", newPassword: "another long password" }, me.auth),
    );
    const fresh = bearer(changed.accessToken);
    await send(`/subscriptions/${subscription.id}/cancel`, json({}, fresh));
    await send("/auth/logout/all", { method: "POST", headers: fresh }, 204);

    const again = await login(email, "another long password");
    const auth = bearer((await again.json()).accessToken);
    const page = await send("/audit?limit=100", { headers: auth });
    const entries = page.items as {
      action: string;
      actor: { id: string; role: string };
      resourceId: string;
      requestId: string | null;
    }[];
    const mine = entries.filter((e) => e.actor.id === me.id);
    // Sorted: two writes of one request may share a millisecond, and ties have no order.
    expect(mine.map((e) => e.action).sort()).toEqual(
      [
        "user.register",
        "user.profile_updated",
        "webhook.created",
        "webhook.updated",
        "webhook.secret_rotated",
        "webhook.deleted",
        "subscription.created",
        "subscription.activated",
        "subscription.auto_renew_changed",
        "subscription.renewal_requested",
        "subscription.renewed",
        "instance.restarted",
        "user.password_change",
        "subscription.cancel_scheduled",
        "user.logout_all",
        "user.login",
      ].sort(),
    );
    expect(mine.every((e) => e.actor.role === "CUSTOMER")).toBe(true);
    expect(mine.every((e) => typeof e.requestId === "string")).toBe(true);
    // Nobody else's entries: whatever is not the customer's act was done to their own
    // things, and its actor shows by role only.
    const theirs = new Set([me.id, hook.id, subscription.id, subscription.instance.id]);
    const others = entries.filter((e) => e.actor.id !== me.id);
    expect(others.filter((e) => !theirs.has(e.resourceId) || e.actor.id !== null)).toEqual([]);
  });
});

describe("a disabled user", () => {
  it("is refused by every other function at once with the token already held, and can sign in once enabled", async () => {
    const email = "disabled@example.com";
    const user = await register(email);
    const admin = await adminAuth();
    for (const path of ["/subscriptions", "/instances", "/invoices", "/auth/me"]) {
      expect((await api(path, { headers: user.auth })).status, path).toBe(200);
    }

    const disabled = await api(
      `/admin/users/${user.id}/disable`,
      json({ reason: "abuse report" }, admin),
    );
    expect(disabled.status).toBe(200);
    expect(await disabled.json()).toMatchObject({ changed: true, liveSubscriptions: 0 });

    for (const path of ["/subscriptions", "/instances", "/invoices", "/webhooks", "/auth/me"]) {
      const res = await api(path, { headers: user.auth });
      expect(res.status, path).toBe(401);
    }
    expect(
      (await api("/auth/refresh", json({ refreshToken: user.refreshToken }))).status,
    ).toBeGreaterThanOrEqual(400);
    const refused = await login(email, "a long password");
    expect(refused.status).toBe(403);
    expect((await refused.json()).code).toBe("ACCOUNT_DISABLED");

    const trail = await (
      await api(`/admin/audit?resourceType=user&resourceId=${user.id}&action=user.disabled`, {
        headers: admin,
      })
    ).json();
    expect(trail.items).toMatchObject([
      { actor: { role: "SUPER_ADMIN" }, metadata: { reason: "abuse report" } },
    ]);

    expect((await api(`/admin/users/${user.id}/enable`, json({}, admin))).status).toBe(200);
    const back = await login(email, "a long password");
    expect(back.status).toBe(200);
    const token = bearer((await back.json()).accessToken);
    expect((await api("/subscriptions", { headers: token })).status).toBe(200);
    // Their own trail shows the disabling, by the admin's role only.
    const own = await (await api("/audit?action=user.disabled", { headers: token })).json();
    expect(own.items).toMatchObject([
      {
        actor: { id: null, role: "SUPER_ADMIN" },
        ip: null,
        userAgent: null,
        metadata: { reason: "abuse report" },
      },
    ]);
    // The token held before disabling stays revoked.
    expect((await api("/subscriptions", { headers: user.auth })).status).toBe(401);
  });
});
