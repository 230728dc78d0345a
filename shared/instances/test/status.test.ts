import { instanceStatusEvents, outboxEvents, serviceInstances, subscriptions } from "@minispod/db";
import { createMetrics } from "@minispod/shared";
import { createHarness, type Harness, seedCatalogEntry } from "@minispod/shared/testing";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { observedTransition, syncObserved } from "../src/index";

/**
 * What the cluster reports becomes at most one timeline step: decided by
 * `observedTransition`, written under the instance's row lock by
 * `syncObserved`, counted once in `minispod_instances_failed_total`.
 */
const minute = 60_000;
const now = new Date("2026-06-01T12:00:00Z");
const options = { now, provisionTimeoutMs: 10 * minute };
const instance = (
  status: "PENDING" | "PROVISIONING" | "RUNNING" | "FAILED" | "SUSPENDED",
  extra: { lastError?: string | null; startedAgo?: number } = {},
) => ({
  status,
  lastError: extra.lastError ?? null,
  statusChangedAt: new Date(now.getTime() - (extra.startedAgo ?? 0)),
});

describe("observedTransition", () => {
  it("turns a provisioning instance RUNNING when the cluster says so", () => {
    expect(
      observedTransition(instance("PROVISIONING"), { phase: "running", reason: "ready" }, options),
    ).toMatchObject({ status: "RUNNING", event: "instance.running", lastError: null });
  });

  it("writes nothing when the cluster confirms what is recorded", () => {
    expect(
      observedTransition(instance("RUNNING"), { phase: "running", reason: "ready" }, options),
    ).toBeNull();
    const failed = instance("FAILED", { lastError: "image could not be pulled" });
    expect(
      observedTransition(failed, { phase: "failed", reason: "image could not be pulled" }, options),
    ).toBeNull();
  });

  it("leaves suspended and pending instances to the provisioner", () => {
    for (const status of ["SUSPENDED", "PENDING"] as const) {
      expect(
        observedTransition(instance(status), { phase: "running", reason: "ready" }, options),
      ).toBeNull();
    }
  });

  it("fails a provision that is still starting after the deadline, naming how long it waited", () => {
    const late = instance("PROVISIONING", { startedAgo: 11 * minute });
    expect(
      observedTransition(late, { phase: "starting", reason: "volume pending" }, options),
    ).toEqual({
      status: "FAILED",
      message: "Not ready after 660 s: volume pending.",
      event: "instance.failed",
      lastError: "volume pending",
    });
  });

  it("tells a reason worth telling once, then stays quiet", () => {
    const waiting = instance("PROVISIONING", { startedAgo: minute });
    const first = observedTransition(
      waiting,
      { phase: "starting", reason: "volume pending" },
      options,
    );
    expect(first).toEqual({
      status: "PROVISIONING",
      message: "Volume pending.",
      lastError: "volume pending",
    });
    const told = instance("PROVISIONING", { startedAgo: minute, lastError: "volume pending" });
    expect(
      observedTransition(told, { phase: "starting", reason: "volume pending" }, options),
    ).toBeNull();
  });

  it("a running instance that starts again is a timeline line, not an event", () => {
    expect(
      observedTransition(instance("RUNNING"), { phase: "starting", reason: "restarting" }, options),
    ).toEqual({ status: "PROVISIONING", message: "Restarting.", lastError: null });
  });
});

describe("syncObserved", () => {
  let h: Harness;
  let instanceId: string;

  beforeAll(async () => {
    h = await createHarness();
    const db = h.database.db;
    const user = await h.user();
    const service = await seedCatalogEntry(db);
    const [subscription] = await db
      .insert(subscriptions)
      .values({
        userId: user.id,
        serviceId: service.id,
        status: "ACTIVE",
        currentPeriodStart: now,
        currentPeriodEnd: new Date(now.getTime() + 30 * 86_400_000),
        exclusive: false,
      })
      .returning();
    const [row] = await db
      .insert(serviceInstances)
      .values({
        subscriptionId: subscription!.id,
        namespace: `customer-${user.id}`,
        objectName: "app-1",
        host: "app-1.apps.localhost",
        url: "https://app-1.apps.localhost",
        status: "PROVISIONING",
      })
      .returning();
    instanceId = row!.id;
  });
  afterAll(() => h.close());

  it("writes one step and one event when observers race, and counts a failure once", async () => {
    const metrics = createMetrics("instances-domain-test");
    const live = { phase: "failed" as const, reason: "image could not be pulled" };
    const observe = () =>
      syncObserved(h.database.db, instanceId, live, {
        ...options,
        now: new Date(),
        source: "provisioner",
        metrics,
      });
    const results = await Promise.all([observe(), observe(), observe(), observe()]);
    expect(results.map((r) => r?.instance.status)).toEqual([
      "FAILED",
      "FAILED",
      "FAILED",
      "FAILED",
    ]);

    const db = h.database.db;
    const steps = await db
      .select()
      .from(instanceStatusEvents)
      .where(eq(instanceStatusEvents.instanceId, instanceId));
    expect(steps.map((s) => s.message)).toEqual(["Image could not be pulled."]);
    const events = await db.select().from(outboxEvents).where(eq(outboxEvents.subject, instanceId));
    expect(events.map((e) => e.type)).toEqual(["dev.minispod.instance.failed"]);
    expect(
      await metrics.registry.getSingleMetricAsString("minispod_instances_failed_total"),
    ).toMatch(/^minispod_instances_failed_total\{[^}]*\} 1$/m);
  });

  it("answers undefined for an instance that does not exist", async () => {
    const missing = await syncObserved(
      h.database.db,
      "00000000-0000-4000-8000-000000000000",
      { phase: "running", reason: "ready" },
      { ...options, source: "provisioner" },
    );
    expect(missing).toBeUndefined();
  });
});
