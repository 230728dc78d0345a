import { runRouteSecurityTests } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AdminTest, type Holding, rejectsQueries, seedHolding, setupAdmin } from "./helpers";

let t: AdminTest;
let held: Holding[];
beforeAll(async () => {
  t = await setupAdmin();
  held = [];
  for (let i = 0; i < 3; i++) held.push(await seedHolding(t.h.database.db, t.customer.id));
  await seedHolding(t.h.database.db, t.other.id);
});
afterAll(() => t.close());

const get = (path: string, user = t.admin) => t.app.request(path, { headers: t.h.bearer(user) });

interface UserItem {
  id: string;
  email: string;
  name: string;
  role: string;
  disabledAt: string | null;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

describe("GET /api/v1/admin/users", () => {
  it("searches by email or name, case-insensitively, for ADMIN and SUPER_ADMIN", async () => {
    const tag = `zq${Date.now().toString(36)}`;
    const byEmail = await t.h.user({ email: `${tag}.Mail@example.com` });
    const byName = await t.h.user({ name: `Someone ${tag.toUpperCase()}` });
    for (const caller of [t.admin, t.superAdmin]) {
      const response = await get(`/api/v1/admin/users?q=${tag}`, caller);
      expect(response.status).toBe(200);
      const body = (await response.json()) as Page<UserItem>;
      expect(body.items.map((u) => u.id).sort()).toEqual([byEmail.id, byName.id].sort());
      expect(body.items[0]).not.toHaveProperty("passwordHash");
    }
  });

  it("treats % and _ in the search as plain characters", async () => {
    await t.h.user({ name: "Percy 100% Sure" });
    const response = await get(`/api/v1/admin/users?q=${encodeURIComponent("0%")}`);
    const body = (await response.json()) as Page<UserItem>;
    expect(body.items.map((u) => u.name)).toEqual(["Percy 100% Sure"]);
    const none = (await (
      await get("/api/v1/admin/users?q=_____________")
    ).json()) as Page<UserItem>;
    expect(none.items).toEqual([]);
  });

  it("filters by role and by disabled state", async () => {
    const disabled = await t.h.user({ disabled: true, name: "Dora Disabled" });
    const admins = (await (
      await get("/api/v1/admin/users?role=SUPER_ADMIN&limit=100")
    ).json()) as Page<UserItem>;
    expect(admins.items.every((u) => u.role === "SUPER_ADMIN")).toBe(true);
    expect(admins.items.map((u) => u.id)).toContain(t.superAdmin.id);
    const off = (await (
      await get("/api/v1/admin/users?disabled=true&limit=100")
    ).json()) as Page<UserItem>;
    expect(off.items.map((u) => u.id)).toEqual([disabled.id]);
    const on = (await (
      await get("/api/v1/admin/users?disabled=false&limit=100")
    ).json()) as Page<UserItem>;
    expect(on.items.map((u) => u.id)).not.toContain(disabled.id);
    expect(on.items.map((u) => u.id)).toContain(t.customer.id);
  });

  it("pages newest first with a cursor", async () => {
    const tag = `pg${Date.now().toString(36)}`;
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await t.h.user({ name: `${tag} ${i}` }));
    const first = (await (
      await get(`/api/v1/admin/users?q=${tag}&limit=2`)
    ).json()) as Page<UserItem>;
    expect(first.items.map((u) => u.id)).toEqual([made[2]!.id, made[1]!.id]);
    expect(first.nextCursor).not.toBeNull();
    const second = (await (
      await get(`/api/v1/admin/users?q=${tag}&limit=2&cursor=${first.nextCursor}`)
    ).json()) as Page<UserItem>;
    expect(second.items.map((u) => u.id)).toEqual([made[0]!.id]);
    expect(second.nextCursor).toBeNull();
  });

  rejectsQueries(() => t, "/api/v1/admin/users", [
    ["limit=0", "limit"],
    ["limit=101", "limit"],
    ["limit=ten", "limit"],
    ["role=ROOT", "role"],
    ["disabled=maybe", "disabled"],
    [`q=${"x".repeat(101)}`, "q"],
    ["cursor=garbage", "cursor"],
  ]);

  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
    method: "GET",
    path: "/api/v1/admin/users",
    roles: ["ADMIN", "SUPER_ADMIN"],
  });
});

describe("GET /api/v1/admin/users/:id", () => {
  it("shows the user with their subscriptions, instances and invoices, and no one else's", async () => {
    const response = await get(`/api/v1/admin/users/${t.customer.id}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as UserItem & {
      subscriptions: Page<{ id: string; userId: string }>;
      instances: Page<{ id: string; subscriptionId: string }>;
      invoices: Page<{ id: string; userId: string }>;
    };
    expect(body).toMatchObject({ id: t.customer.id, email: t.customer.email, role: "CUSTOMER" });
    expect(body.subscriptions.items.map((s) => s.id)).toEqual(
      held.map((h) => h.subscriptionId).reverse(),
    );
    expect(body.instances.items.map((i) => i.id)).toEqual(held.map((h) => h.instanceId).reverse());
    expect(body.invoices.items.map((i) => i.id)).toEqual(held.map((h) => h.invoiceId).reverse());
    expect(body.subscriptions.nextCursor).toBeNull();
  });

  it("bounds each list at 20 and gives a cursor for the rest", async () => {
    const busy = await t.h.user();
    const db = t.h.database.db;
    const service = await seedHolding(db, busy.id, { instance: null });
    for (let i = 0; i < 21; i++) {
      await seedHolding(db, busy.id, { serviceId: service.serviceId, instance: null });
    }
    const body = (await (await get(`/api/v1/admin/users/${busy.id}`)).json()) as {
      subscriptions: Page<{ id: string }>;
      invoices: Page<{ id: string }>;
      instances: Page<{ id: string }>;
    };
    expect(body.subscriptions.items).toHaveLength(20);
    expect(body.subscriptions.nextCursor).not.toBeNull();
    expect(body.invoices.items).toHaveLength(20);
    expect(body.instances).toEqual({ items: [], nextCursor: null });
    // The cursor continues on the admin subscriptions list.
    const rest = (await (
      await get(
        `/api/v1/admin/subscriptions?userId=${busy.id}&cursor=${body.subscriptions.nextCursor}`,
      )
    ).json()) as Page<{ id: string }>;
    expect(rest.items).toHaveLength(2);
  });

  it("answers 404 to an unknown user and 400 to a bad id", async () => {
    const missing = await get("/api/v1/admin/users/00000000-0000-4000-8000-000000000000");
    expect(missing.status).toBe(404);
    const bad = await get("/api/v1/admin/users/not-a-uuid");
    expect(bad.status).toBe(400);
  });

  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
    method: "GET",
    path: () => `/api/v1/admin/users/${t.customer.id}`,
    roles: ["ADMIN", "SUPER_ADMIN"],
  });
});
