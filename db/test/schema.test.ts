import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb, type Database, isUniqueViolation } from "../src/client";
import {
  auditLog,
  invoices,
  processedEvents,
  serviceCatalog,
  subscriptions,
  users,
} from "../src/schema/index";
import { cloneDatabase } from "../src/testing";

/** The same schema, migrations and queries must work on PostgreSQL and on PGlite (local mode). */
describe.each(["postgres", "pglite"] as const)("schema constraints on %s", (kind) => {
  let database: Database;
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (kind === "pglite") {
      database = createDb("pglite://memory");
      await database.migrate();
    } else {
      const clone = await cloneDatabase(inject("databaseServerUrl"), inject("templateDatabase"));
      drop = clone.drop;
      database = createDb(clone.url, { max: 2 });
    }
  }, 60_000);
  afterAll(async () => {
    await database.close();
    await drop?.();
  });

  const user = async (email: string) => {
    const [row] = await database.db
      .insert(users)
      .values({ email, name: "U", passwordHash: "x" })
      .returning();
    return row!;
  };

  const catalogEntry = async () => {
    const [row] = await database.db
      .insert(serviceCatalog)
      .values({
        slug: `svc-${randomUUID().slice(0, 8)}`,
        name: "S",
        image: "nginx",
        imageTag: "1",
        port: 80,
        cpu: "100m",
        memory: "128Mi",
        priceMinor: 500,
        currency: "EUR",
      })
      .returning();
    return row!;
  };

  it("treats emails as unique regardless of case", async () => {
    await user("Case@Example.com");
    const error = await user("case@example.COM").catch((e: unknown) => e);
    expect(isUniqueViolation(error, "users_email_lower_uq")).toBe(true);
  });

  it("allows one invoice per subscription and period", async () => {
    const owner = await user(`${randomUUID()}@example.com`);
    const service = await catalogEntry();
    const start = new Date("2026-01-01T00:00:00Z");
    const end = new Date("2026-02-01T00:00:00Z");
    const [sub] = await database.db
      .insert(subscriptions)
      .values({
        userId: owner.id,
        serviceId: service.id,
        status: "ACTIVE",
        currentPeriodStart: start,
        currentPeriodEnd: end,
      })
      .returning();
    const invoice = (n: string) => ({
      number: n,
      subscriptionId: sub!.id,
      userId: owner.id,
      periodStart: start,
      periodEnd: end,
      amountMinor: 500,
      currency: "EUR",
    });
    await database.db.insert(invoices).values(invoice(`INV-${randomUUID()}`));
    const error = await database.db
      .insert(invoices)
      .values(invoice(`INV-${randomUUID()}`))
      .catch((e: unknown) => e);
    expect(isUniqueViolation(error, "invoices_subscription_period_uq")).toBe(true);
  });

  it("refuses a second live subscription to an exclusive service, and a negative price", async () => {
    const owner = await user(`${randomUUID()}@example.com`);
    const service = await catalogEntry();
    const row = {
      userId: owner.id,
      serviceId: service.id,
      status: "ACTIVE" as const,
      currentPeriodStart: new Date(),
      currentPeriodEnd: new Date(Date.now() + 86400_000),
    };
    await database.db.insert(subscriptions).values(row);
    const error = await database.db
      .insert(subscriptions)
      .values(row)
      .catch((e: unknown) => e);
    expect(isUniqueViolation(error, "subscriptions_one_live_per_service_uq")).toBe(true);
    await database.db.insert(subscriptions).values({ ...row, status: "CANCELLED" });
    const negative = await database.db
      .insert(serviceCatalog)
      .values({
        slug: "neg",
        name: "N",
        image: "x",
        imageTag: "1",
        port: 80,
        cpu: "1",
        memory: "1Gi",
        priceMinor: -1,
        currency: "EUR",
      })
      .catch((e: unknown) => e);
    expect(negative).toBeInstanceOf(Error);
  });

  it("records a (consumer, source, id) once", async () => {
    const row = { consumer: "c", source: "s", eventId: randomUUID(), type: "t" };
    await database.db.insert(processedEvents).values(row);
    expect(
      await database.db.insert(processedEvents).values(row).onConflictDoNothing().returning(),
    ).toHaveLength(0);
  });

  it("keys the append-only logs with time-ordered UUIDv7s", async () => {
    const before = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const [row] = await database.db
        .insert(auditLog)
        .values({ actorRole: "SYSTEM", action: "test.logged", resourceType: "test" })
        .returning({ id: auditLog.id });
      ids.push(row!.id);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const after = Date.now();
    for (const id of ids) {
      // Version 7, RFC 9562 variant, and the leading 48 bits are the creation time in ms.
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const ms = Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16);
      expect(ms).toBeGreaterThanOrEqual(before - 1000);
      expect(ms).toBeLessThanOrEqual(after + 1000);
    }
    // Inserted a few ms apart, so they sort in insertion order.
    expect([...ids].sort()).toEqual(ids);
    const [plain] = await database.db
      .insert(users)
      .values({ email: `${randomUUID()}@example.com`, name: "U", passwordHash: "x" })
      .returning({ id: users.id });
    expect(plain!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4/);
  });
});

describe("createDb", () => {
  it("refuses an unknown URL scheme without echoing the password", () => {
    expect(() => createDb("mysql://root:hunter2@db/x")).toThrow(/postgres:\/\//);
    try {
      createDb("mysql://root:hunter2@db/x");
    } catch (error) {
      expect(String(error)).not.toContain("hunter2");
    }
  });
});
