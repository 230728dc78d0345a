import { cancel, expireEndedSubscriptions } from "@minispod/billing";
import { sandboxPaymentProvider } from "@minispod/billing/payments";
import { recordAudit } from "@minispod/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AdminTest, type Holding, seedHolding, setupAdmin } from "./helpers";

/**
 * A customer's trail holds what was done to their things whoever did it (an
 * admin, the platform's sweeps), written by the real services; other actors
 * show there by role only, while the admin list shows them in full.
 */
let t: AdminTest;
let carols: Holding;
let oscars: Holding;
const adminClient = { "user-agent": "AdminConsole/1.0", "x-forwarded-for": "198.51.100.20" };

beforeAll(async () => {
  t = await setupAdmin();
  const db = t.h.database.db;
  const ended = new Date(Date.now() - 86_400_000);
  carols = await seedHolding(db, t.customer.id, { periodEnd: ended, autoRenew: false });
  oscars = await seedHolding(db, t.other.id, { periodEnd: ended, autoRenew: false });

  // Carol's own action, as a function records it (no owner given: a customer owns what they do).
  await recordAudit(db, {
    actor: { id: t.customer.id, role: "CUSTOMER", ip: "203.0.113.9", userAgent: "Carol/1.0" },
    action: "webhook.created",
    resourceType: "webhook_endpoint",
    resourceId: "wh-carol",
  });

  // The expiry sweep ends both subscriptions (SYSTEM).
  const settings = {
    namespacePrefix: "c-",
    clusterDomain: "apps.test",
    retentionDays: 30,
    dunningDays: [1],
  };
  const swept = await expireEndedSubscriptions({
    ctx: { db, logger: t.deps.logger, source: "expiry-sweeper", settings },
    now: new Date(),
    batchSize: 10,
    maxBatches: 2,
  });
  expect(swept.changed).toBe(2);

  // An hour ago an admin disabled both accounts over the admin API, and enabled Carol's
  // again; both have signed in since (their test tokens are newer than the revocation).
  t.h.clock.now = new Date(Date.now() - 3_600_000);
  const adminPost = (path: string, body?: object) =>
    t.app.request(path, {
      method: "POST",
      headers: { ...t.h.bearer(t.admin), ...adminClient, "content-type": "application/json" },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  for (const user of [t.customer, t.other]) {
    const disabled = await adminPost(`/api/v1/admin/users/${user.id}/disable`, {
      reason: "Chargeback under review.",
    });
    expect(disabled.status).toBe(200);
  }
  expect((await adminPost(`/api/v1/admin/users/${t.customer.id}/enable`)).status).toBe(200);

  // Then the admin deleted Carol's (expired) subscription at once, through the billing service
  // (an ended subscription has no period left to cancel at, so only the immediate cancel applies).
  const ctx = {
    db,
    now: () => new Date(),
    logger: t.deps.logger,
    metrics: t.deps.metrics,
    events: t.deps.events,
    provider: sandboxPaymentProvider(),
    source: "subscriptions",
    settings,
  };
  const admin = { id: t.admin.id, role: "ADMIN" as const, ip: "198.51.100.20" };
  await cancel({
    ctx,
    input: { subscriptionId: carols.subscriptionId, actor: admin, immediately: true },
  });
});
afterAll(() => t.close());

interface Entry {
  id: string;
  actor: { id: string | null; role: string | null };
  action: string;
  resourceType: string;
  resourceId: string | null;
  metadata: Record<string, unknown>;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}
const read = async (path: string, user = t.customer) => {
  const response = await t.app.request(path, { headers: t.h.bearer(user) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: Entry[] }).items;
};
const byAction = (items: Entry[]) => new Map(items.map((e) => [e.action, e]));
const summary = (items: Entry[]) => items.map((e) => `${e.action}:${e.resourceId}`).sort();

describe("a customer's own trail (GET /api/v1/audit)", () => {
  it("holds what the platform and an admin did to their things, and what they did", async () => {
    expect(summary(await read("/api/v1/audit?limit=100"))).toEqual([
      `subscription.cancelled:${carols.subscriptionId}`,
      `subscription.expired:${carols.subscriptionId}`,
      `user.disabled:${t.customer.id}`,
      `user.enabled:${t.customer.id}`,
      "webhook.created:wh-carol",
    ]);
  });

  it("shows the platform's expiry of their subscription", async () => {
    const expired = byAction(await read("/api/v1/audit")).get("subscription.expired")!;
    expect(expired).toMatchObject({
      actor: { id: null, role: "SYSTEM" },
      resourceType: "subscription",
      metadata: { reason: "period_ended" },
      ip: null,
      userAgent: null,
    });
  });

  it("shows an admin's actions by role only: no admin id, IP or user agent; the request id stays", async () => {
    const entries = byAction(await read("/api/v1/audit"));
    for (const action of ["user.disabled", "user.enabled", "subscription.cancelled"]) {
      expect(entries.get(action), action).toMatchObject({
        actor: { id: null, role: "ADMIN" },
        ip: null,
        userAgent: null,
      });
    }
    expect(entries.get("user.disabled")!.requestId).toEqual(expect.any(String));
    expect(entries.get("user.disabled")!.metadata).toMatchObject({
      reason: "Chargeback under review.",
    });
    expect(JSON.stringify([...entries.values()])).not.toContain(t.admin.id);
  });

  it("shows their own entries in full", async () => {
    expect(byAction(await read("/api/v1/audit")).get("webhook.created")).toMatchObject({
      actor: { id: t.customer.id, role: "CUSTOMER" },
      ip: "203.0.113.9",
      userAgent: "Carol/1.0",
    });
  });

  it("never holds another customer's entries, whoever acted", async () => {
    const carol = await read("/api/v1/audit?limit=100");
    const foreign = [t.other.id, oscars.subscriptionId];
    expect(carol.filter((e) => foreign.includes(e.resourceId ?? ""))).toEqual([]);
    expect(summary(await read("/api/v1/audit?limit=100", t.other))).toEqual([
      `subscription.expired:${oscars.subscriptionId}`,
      `user.disabled:${t.other.id}`,
    ]);
  });

  it("shows an admin what they did, to anyone's things, in full", async () => {
    const mine = await read("/api/v1/audit?limit=100", t.admin);
    expect(summary(mine)).toEqual(
      [
        `subscription.cancelled:${carols.subscriptionId}`,
        `user.disabled:${t.customer.id}`,
        `user.disabled:${t.other.id}`,
        `user.enabled:${t.customer.id}`,
      ].sort(),
    );
    expect(byAction(mine).get("user.disabled")).toMatchObject({
      actor: { id: t.admin.id, role: "ADMIN" },
      ip: "198.51.100.20",
      userAgent: "AdminConsole/1.0",
    });
  });
});

describe("the admin list of one user (GET /api/v1/admin/audit?userId=)", () => {
  it("has the same entries as the user's own trail, with the actors in full", async () => {
    const own = await read("/api/v1/audit?limit=100");
    const listed = await read(`/api/v1/admin/audit?limit=100&userId=${t.customer.id}`, t.admin);
    expect(listed.map((e) => e.id)).toEqual(own.map((e) => e.id));
    expect(byAction(listed).get("user.disabled")).toMatchObject({
      actor: { id: t.admin.id, role: "ADMIN" },
      ip: "198.51.100.20",
      userAgent: "AdminConsole/1.0",
    });
    expect(byAction(listed).get("subscription.cancelled")!.actor).toEqual({
      id: t.admin.id,
      role: "ADMIN",
    });
  });
});
