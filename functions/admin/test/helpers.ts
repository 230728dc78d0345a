import type { AppEnv } from "@minispod/shared";
import { createHarness, type Harness, type TestUser } from "@minispod/shared/testing";
import type { Hono } from "hono";
import { type AdminDeps, createApp } from "../src/app";
import { adminFunction } from "../src/function";

export interface AdminTest {
  h: Harness;
  app: Hono<AppEnv>;
  deps: AdminDeps;
  customer: TestUser;
  other: TestUser;
  admin: TestUser;
  superAdmin: TestUser;
  close(): Promise<void>;
}

/**
 * The admin API over a fresh test database (real PostgreSQL and Redis), with
 * tokens for a CUSTOMER (and another one), an ADMIN and a SUPER_ADMIN.
 *
 * @example
 * let t: AdminTest;
 * beforeAll(async () => { t = await setupAdmin(); });
 * afterAll(() => t.close());
 * await t.app.request("/api/v1/admin/users", { headers: t.h.bearer(t.admin) });
 */
export async function setupAdmin(): Promise<AdminTest> {
  const h = await createHarness();
  const deps = h.context(adminFunction);
  return {
    h,
    app: createApp(deps),
    deps,
    customer: await h.user({ name: "Carol Customer" }),
    other: await h.user({ name: "Oscar Other" }),
    admin: await h.user({ role: "ADMIN", name: "Ada Admin" }),
    superAdmin: await h.user({ role: "SUPER_ADMIN", name: "Sam Super" }),
    close: () => h.close(),
  };
}
