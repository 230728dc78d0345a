import { type Actor, recordAudit, systemActor } from "@minispod/shared";
import { runRouteSecurityTests } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AdminTest, rejectsQueries, setupAdmin } from "./helpers";

let t: AdminTest;
const at = (day: number) => new Date(Date.UTC(2031, 0, day, 12));
const ids: Record<string, string> = {};

beforeAll(async () => {
  t = await setupAdmin();
  const db = t.h.database.db;
  const as = (user: { id: string; role: Actor["role"] }): Actor =>
    user.role === "SYSTEM" ? systemActor : { id: user.id!, role: user.role, ip: "203.0.113.9" };
  // As the services write them: an owner where an admin or the platform acts on a customer's thing.
  const write = async (
    name: string,
    actor: Actor,
    action: string,
    resourceType: string,
    resourceId: string,
    day: number,
    ownerId?: string,
  ) => {
    await recordAudit(db, { actor, action, resourceType, resourceId, ownerId, at: at(day) });
    ids[name] = resourceId;
  };
  const customer = as(t.customer);
  const other = as(t.other);
  await write("mineCancel", customer, "subscription.cancelled", "subscription", "sub-mine-1", 1);
  await write("mineWebhook", customer, "webhook.created", "webhook_endpoint", "wh-mine-1", 2);
  await write("theirs", other, "subscription.cancelled", "subscription", "sub-theirs-1", 3);
  const me = t.customer.id;
  await write("adminOnMe", as(t.admin), "user.disabled", "user", me, 4, me);
  await write("system", systemActor, "subscription.expired", "subscription", "sub-mine-2", 5, me);
  await write("mineLogout", customer, "user.logout_all", "user", me, 6, me);
  await write(
    "systemTheirs",
    systemActor,
    "subscription.expired",
    "subscription",
    "sub-theirs-2",
    7,
    t.other.id,
  );
});
afterAll(() => t.close());

interface Entry {
  actor: { id: string | null; role: string | null };
  action: string;
  resourceType: string;
  resourceId: string | null;
  ip: string | null;
  createdAt: string;
}
interface Page {
  items: Entry[];
  nextCursor: string | null;
}
const read = async (path: string, user = t.customer) => {
  const response = await t.app.request(path, { headers: t.h.bearer(user) });
  expect(response.status).toBe(200);
  return (await response.json()) as Page;
};
const actions = (page: Page) => page.items.map((e) => `${e.action}:${e.resourceId}`);

describe("GET /api/v1/audit (own entries)", () => {
  it("shows a customer what they did and what was done to their things, never another's", async () => {
    const page = await read("/api/v1/audit?limit=100");
    expect(actions(page)).toEqual([
      `user.logout_all:${t.customer.id}`,
      "subscription.expired:sub-mine-2",
      `user.disabled:${t.customer.id}`,
      "webhook.created:wh-mine-1",
      "subscription.cancelled:sub-mine-1",
    ]);
    expect(page.items[0]).toMatchObject({
      actor: { id: t.customer.id, role: "CUSTOMER" },
      ip: "203.0.113.9",
      createdAt: at(6).toISOString(),
    });
    // Someone else's actor by role only.
    expect(page.items[2]).toMatchObject({ actor: { id: null, role: "ADMIN" }, ip: null });
    const theirs = await read("/api/v1/audit?limit=100", t.other);
    expect(actions(theirs)).toEqual([
      "subscription.expired:sub-theirs-2",
      "subscription.cancelled:sub-theirs-1",
    ]);
  });

  it("shows an admin only their own entries here, not everyone's", async () => {
    const page = await read("/api/v1/audit?limit=100", t.admin);
    expect(actions(page)).toEqual([`user.disabled:${t.customer.id}`]);
  });

  it("filters by action and time (from inclusive, to exclusive) and pages", async () => {
    const cancels = await read("/api/v1/audit?action=subscription.cancelled");
    expect(actions(cancels)).toEqual(["subscription.cancelled:sub-mine-1"]);
    const window = await read(
      `/api/v1/audit?from=${at(2).toISOString()}&to=${at(6).toISOString()}`,
    );
    expect(actions(window)).toEqual([
      "subscription.expired:sub-mine-2",
      `user.disabled:${t.customer.id}`,
      "webhook.created:wh-mine-1",
    ]);
    const first = await read("/api/v1/audit?limit=3");
    expect(first.items).toHaveLength(3);
    const rest = await read(`/api/v1/audit?limit=3&cursor=${first.nextCursor}`);
    expect(actions(rest)).toEqual([
      "webhook.created:wh-mine-1",
      "subscription.cancelled:sub-mine-1",
    ]);
    expect(rest.nextCursor).toBeNull();
  });

  rejectsQueries(
    () => t,
    "/api/v1/audit",
    [
      ["from=soon", "from"],
      ["to=2031-01-32", "to"],
      ["from=2031-02-01&to=2031-01-01", "from"],
      [`action=${"a".repeat(101)}`, "action"],
      ["limit=1000", "limit"],
    ],
    (x) => x.customer,
  );

  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
    method: "GET",
    path: "/api/v1/audit",
  });
});

describe("GET /api/v1/admin/audit (everyone's)", () => {
  const all = (query: string) => read(`/api/v1/admin/audit?limit=100&${query}`, t.admin);

  it("shows everyone's entries, the platform's included, and filters them", async () => {
    const everything = await all("from=2031-01-01&to=2031-02-01");
    expect(everything.items).toHaveLength(7);
    expect(everything.items.find((e) => e.action === "subscription.expired")!.actor).toEqual({
      id: null,
      role: "SYSTEM",
    });
    expect(actions(await all(`actorId=${t.other.id}`))).toEqual([
      "subscription.cancelled:sub-theirs-1",
    ]);
    const hers = await all(`userId=${t.customer.id}`);
    expect(hers.items).toHaveLength(5);
    // In full here: the admin's id and address.
    expect(hers.items.find((e) => e.action === "user.disabled")).toMatchObject({
      actor: { id: t.admin.id, role: "ADMIN" },
      ip: "203.0.113.9",
    });
    expect(actions(await all("action=subscription.cancelled"))).toEqual([
      "subscription.cancelled:sub-theirs-1",
      "subscription.cancelled:sub-mine-1",
    ]);
    expect(actions(await all("resourceType=subscription&resourceId=sub-mine-2"))).toEqual([
      "subscription.expired:sub-mine-2",
    ]);
    expect(actions(await all("resourceType=webhook_endpoint"))).toEqual([
      "webhook.created:wh-mine-1",
    ]);
    expect(actions(await all(`from=2031-01-05&to=2031-01-06T23:00:00Z`))).toEqual([
      `user.logout_all:${t.customer.id}`,
      "subscription.expired:sub-mine-2",
    ]);
  });

  rejectsQueries(() => t, "/api/v1/admin/audit", [
    ["actorId=me", "actorId"],
    ["userId=123", "userId"],
    ["resourceType=", "resourceType"],
    [`resourceId=${"r".repeat(201)}`, "resourceId"],
    ["from=2031-01-01T25:00:00Z", "from"],
    ["to=tomorrow", "to"],
    ["limit=0", "limit"],
  ]);

  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
    method: "GET",
    path: "/api/v1/admin/audit",
    roles: ["ADMIN", "SUPER_ADMIN"],
  });
});
