import { users } from "@minispod/db";
import { runRouteSecurityTests } from "@minispod/shared/testing";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AdminTest, seedHolding, setupAdmin } from "./helpers";

let t: AdminTest;
const at = (y: number, m: number, d = 10) => new Date(Date.UTC(y, m - 1, d, 12));

beforeAll(async () => {
  t = await setupAdmin();
  const db = t.h.database.db;
  // The clock in June 2031: the window is July 2030 .. June 2031; the harness's users are outside it.
  t.h.clock.now = at(2031, 6, 15);
  const signup = async (when: Date) => {
    const user = await t.h.user();
    await db.update(users).set({ createdAt: when }).where(eq(users.id, user.id));
    return user;
  };
  const early = await signup(at(2030, 6, 30)); // one month before the window
  const a = await signup(at(2030, 7, 1));
  const b = await signup(at(2031, 3, 5));
  const c = await signup(at(2031, 3, 28));
  await signup(at(2031, 6, 14));

  await seedHolding(db, a.id, { status: "ACTIVE", instance: "RUNNING", priceMinor: 900 });
  await seedHolding(db, a.id, { status: "PAST_DUE", instance: "RUNNING", priceMinor: 500 });
  await seedHolding(db, b.id, {
    status: "ACTIVE",
    instance: "PROVISIONING",
    priceMinor: 1200,
    currency: "USD",
  });
  await seedHolding(db, b.id, { status: "PENDING", instance: null, priceMinor: 700 });
  await seedHolding(db, c.id, {
    status: "CANCELLED",
    instance: "DELETED",
    cancelledAt: at(2031, 3, 30),
  });
  await seedHolding(db, c.id, {
    status: "CANCELLED",
    instance: "DELETED",
    cancelledAt: at(2031, 5, 2),
  });
  await seedHolding(db, early.id, {
    status: "EXPIRED",
    instance: "SUSPENDED",
    expiredAt: at(2031, 5, 20),
  });
  await seedHolding(db, early.id, {
    status: "CANCELLED",
    instance: "DELETED",
    cancelledAt: at(2030, 1, 2), // before the window
  });
});
afterAll(() => t.close());

interface Stats {
  generatedAt: string;
  subscriptions: Record<string, number>;
  instances: Record<string, number>;
  mrr: { currency: string; amountMinor: number }[];
  months: { month: string; signups: number; cancelled: number; expired: number; churned: number }[];
}

describe("GET /api/v1/admin/stats", () => {
  it("counts subscriptions and instances by status, MRR by currency, signups and churn per month", async () => {
    const response = await t.app.request("/api/v1/admin/stats", { headers: t.h.bearer(t.admin) });
    expect(response.status).toBe(200);
    const stats = (await response.json()) as Stats;
    expect(stats.generatedAt).toBe(at(2031, 6, 15).toISOString());
    expect(stats.subscriptions).toEqual({
      PENDING: 1,
      ACTIVE: 2,
      PAST_DUE: 1,
      EXPIRED: 1,
      CANCELLED: 3,
      FAILED: 0,
    });
    expect(stats.instances).toEqual({
      PENDING: 0,
      PROVISIONING: 1,
      RUNNING: 2,
      FAILED: 0,
      SUSPENDED: 1,
      DELETING: 0,
      DELETED: 3,
    });
    expect(stats.mrr.sort((x, y) => x.currency.localeCompare(y.currency))).toEqual([
      { currency: "EUR", amountMinor: 1400 },
      { currency: "USD", amountMinor: 1200 },
    ]);
    expect(stats.months.map((m) => m.month)).toEqual([
      "2030-07",
      "2030-08",
      "2030-09",
      "2030-10",
      "2030-11",
      "2030-12",
      "2031-01",
      "2031-02",
      "2031-03",
      "2031-04",
      "2031-05",
      "2031-06",
    ]);
    const month = (key: string) => stats.months.find((m) => m.month === key);
    expect(month("2030-07")).toEqual({
      month: "2030-07",
      signups: 1,
      cancelled: 0,
      expired: 0,
      churned: 0,
    });
    expect(month("2031-03")).toMatchObject({ signups: 2, cancelled: 1, churned: 1 });
    expect(month("2031-05")).toEqual({
      month: "2031-05",
      signups: 0,
      cancelled: 1,
      expired: 1,
      churned: 2,
    });
    expect(month("2031-06")).toMatchObject({ signups: 1, churned: 0 });
    expect(stats.months.reduce((n, m) => n + m.signups, 0)).toBe(4);
  });

  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
    method: "GET",
    path: "/api/v1/admin/stats",
    roles: ["ADMIN", "SUPER_ADMIN"],
  });
});
