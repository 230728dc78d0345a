import { ClusterError, type ClusterPort } from "@minispod/cluster";
import { FAULT_ENV } from "@minispod/cluster/simulated";
import { serviceCatalog, serviceInstances, simulatedWorkloads } from "@minispod/db";
import { baseApp, toBinaryHttp } from "@minispod/shared";
import { json } from "@minispod/shared/testing";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { provisionerContext } from "../src/app";
import { devRoutes } from "../src/routes/dev";
import {
  activeSubscription,
  deliver,
  emitted,
  instanceRow,
  type ProvisionerTest,
  refOf,
  seedService,
  setSubscriptionStatus,
  setupProvisioner,
  subscriptionEvent,
  timeline,
} from "./helpers";

// Rollout steps of 1 s, a 60 s provision deadline; time moves only when a test moves it.
const DELAY = 1000;
let t: ProvisionerTest;
beforeAll(async () => {
  t = await setupProvisioner({ delayMs: DELAY, env: { PROVISION_TIMEOUT: "60s" } });
  t.h.clock.now = new Date("2026-03-01T12:00:00Z");
});
afterAll(() => t.h.close());

const db = () => t.h.database.db;
const advance = (ms: number) => {
  t.h.clock.now = new Date(t.h.clock.now.getTime() + ms);
};
const sweep = async () => {
  const response = await t.app.request("/cron/reconcile", { method: "POST" });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, number>;
};

async function activated(options: Parameters<typeof activeSubscription>[1] = {}) {
  const s = await activeSubscription(t.h, options);
  expect((await deliver(t.app, subscriptionEvent("subscription.activated", s))).status).toBe(200);
  return s;
}

describe("status while an instance starts", () => {
  it("stays PROVISIONING until the cluster reports it running, then the sweep records RUNNING", async () => {
    const s = await activated();
    expect((await instanceRow(db(), s.instanceId)).status).toBe("PROVISIONING");
    advance(3 * DELAY);
    await sweep();
    expect((await instanceRow(db(), s.instanceId)).status).toBe("RUNNING");
    expect(await emitted(db(), s.instanceId)).toContain("instance.running");
  });

  it("fails an image that cannot be pulled, in plain words", async () => {
    const service = await seedService(db(), { defaultEnv: { [FAULT_ENV]: "image-pull" } });
    const s = await activated({ service });
    advance(DELAY);
    await sweep();
    const row = await instanceRow(db(), s.instanceId);
    expect(row.status).toBe("FAILED");
    expect(row.lastError).toBe("image could not be pulled");
    expect((await timeline(db(), s.instanceId)).at(-1)).toBe("FAILED Image could not be pulled.");
    expect(await emitted(db(), s.instanceId)).toContain("instance.failed");
  });

  it("fails at once when the quota is exceeded", async () => {
    const service = await seedService(db(), { defaultEnv: { [FAULT_ENV]: "quota" } });
    const s = await activated({ service });
    const row = await instanceRow(db(), s.instanceId);
    expect(row).toMatchObject({ status: "FAILED", lastError: "quota exceeded" });
  });

  it("notes a pending volume, then fails it when the provision deadline passes", async () => {
    const service = await seedService(db(), { defaultEnv: { [FAULT_ENV]: "volume-pending" } });
    const s = await activated({ service });
    expect(await instanceRow(db(), s.instanceId)).toMatchObject({
      status: "PROVISIONING",
      lastError: "volume pending",
    });
    advance(30_000);
    await sweep();
    expect((await instanceRow(db(), s.instanceId)).status).toBe("PROVISIONING");
    advance(31_000);
    await sweep();
    const row = await instanceRow(db(), s.instanceId);
    expect(row).toMatchObject({ status: "FAILED", lastError: "volume pending" });
    expect((await timeline(db(), s.instanceId)).slice(-3)).toEqual([
      "PROVISIONING Creating the workload.",
      "PROVISIONING Volume pending.",
      "FAILED Not ready after 61 s: volume pending.",
    ]);
    // One failure, told once, however many sweeps follow.
    advance(60_000);
    await sweep();
    expect((await emitted(db(), s.instanceId)).filter((e) => e === "instance.failed")).toHaveLength(
      1,
    );
  });

  it("records a crash loop injected from the dev route, and the recovery once healed", async () => {
    const s = await activated();
    advance(3 * DELAY);
    await sweep();
    // Mounted the way the local runner mounts dev routes: under the function's app factory.
    const dev = baseApp(t.deps).route("/_dev/provisioner", devRoutes(provisionerContext(t.deps)));
    const path = `/_dev/provisioner/instances/${s.instanceId}/fault`;

    let response = await dev.request(path, json({ fault: "crash-loop" }));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ phase: "starting", status: "PROVISIONING" });
    advance(2 * DELAY);
    await sweep();
    expect(await instanceRow(db(), s.instanceId)).toMatchObject({
      status: "FAILED",
      lastError: "crash looping",
    });

    response = await dev.request(path, json({ fault: null }));
    expect(response.status).toBe(200);
    advance(3 * DELAY);
    await sweep();
    expect((await instanceRow(db(), s.instanceId)).status).toBe("RUNNING");

    const bad = await dev.request(path, json({ fault: "meteor" }));
    expect(bad.status).toBe(400);
    const missing = await dev.request(
      `/_dev/provisioner/instances/${crypto.randomUUID()}/fault`,
      json({ fault: "quota" }),
    );
    expect(missing.status).toBe(404);
  });
});

describe("the reconcile sweep", () => {
  it("repairs what lost events left behind, and deletes workloads nobody owns", async () => {
    // An activation whose event never arrived.
    const lost = await activeSubscription(t.h);
    // An expiry whose event never arrived.
    const expired = await activated();
    await setSubscriptionStatus(db(), expired.subscriptionId, "EXPIRED");
    // A workload removed behind our back.
    const removed = await activated();
    await t.cluster.deleteInstance(refOf(removed));
    // A workload whose instance is DELETED (say, an old bug), and one this database never knew.
    const stranger = { customerId: crypto.randomUUID(), instanceId: crypto.randomUUID() };
    await t.cluster.ensureNamespace({ customerId: stranger.customerId, plans: [] });
    await t.cluster.applyInstance({
      ...stranger,
      app: {
        slug: "x",
        image: "x",
        imageTag: "1",
        port: 80,
        resources: { cpu: "1", memory: "1Gi" },
      },
    });
    const orphan = await activated();
    await db()
      .update(serviceInstances)
      .set({ status: "DELETED" })
      .where(eq(serviceInstances.id, orphan.instanceId));

    const result = await sweep();
    expect(result.errors).toBe(0);
    expect(result.converged).toBeGreaterThanOrEqual(3);
    expect(result.orphansDeleted).toBeGreaterThanOrEqual(1);
    expect(result.unknownWorkloads).toBeGreaterThanOrEqual(1);
    expect((await instanceRow(db(), lost.instanceId)).status).toBe("PROVISIONING");
    expect((await instanceRow(db(), expired.instanceId)).status).toBe("SUSPENDED");
    expect((await t.cluster.readStatus(refOf(expired))).phase).toBe("suspended");
    expect((await t.cluster.readStatus(refOf(removed))).phase).toBe("starting");
    expect((await t.cluster.readStatus(refOf(orphan))).phase).toBe("missing");
    // Another deployment's (or a test's) workload sharing the cluster is not ours to delete.
    expect((await t.cluster.readStatus(stranger)).phase).not.toBe("missing");

    // A second sweep finds nothing left to fix.
    advance(3 * DELAY);
    await sweep();
    const again = await sweep();
    expect(again).toMatchObject({ converged: 0, orphansDeleted: 0, observed: 0, errors: 0 });
    expect(again.unknownWorkloads).toBeGreaterThanOrEqual(1);
  });

  it("lists the cluster in pages: API calls grow with pages, not instances", async () => {
    const small = await setupProvisioner({ env: { RECONCILE_PAGE_SIZE: "2" } });
    try {
      for (let i = 0; i < 5; i++) {
        const s = await activeSubscription(small.h);
        await deliver(small.app, subscriptionEvent("subscription.activated", s));
      }
      const response = await small.app.request("/cron/reconcile", { method: "POST" });
      const result = (await response.json()) as Record<string, number>;
      expect(result).toMatchObject({ workloads: 5, instances: 5, pages: 3, listApiCalls: 3 });
    } finally {
      await small.h.close();
    }
  });
});

describe("catalog changes reach instances through the reconcile sweep", () => {
  const workloadApp = async (instanceId: string) => {
    const [row] = await db()
      .select()
      .from(simulatedWorkloads)
      .where(eq(simulatedWorkloads.instanceId, instanceId));
    return row?.app as { imageTag: string; env?: Record<string, string> } | undefined;
  };

  it("applies a running instance again after its entry changes, once", async () => {
    const s = await activated();
    advance(3 * DELAY);
    await sweep();
    expect((await instanceRow(db(), s.instanceId)).status).toBe("RUNNING");
    expect((await sweep()).respecified).toBe(0);

    await db()
      .update(serviceCatalog)
      .set({ imageTag: "9.9.9" })
      .where(eq(serviceCatalog.id, s.service.id));
    const first = await sweep();
    expect(first).toMatchObject({ respecified: 1, respecDeferred: 0, errors: 0 });
    expect((await workloadApp(s.instanceId))?.imageTag).toBe("9.9.9");
    // The new pod rolls out like a restart, then runs again.
    advance(3 * DELAY);
    await sweep();
    expect((await instanceRow(db(), s.instanceId)).status).toBe("RUNNING");
    expect((await sweep()).respecified).toBe(0);
  });

  it("repairs a failed instance once the admin fixes its entry", async () => {
    const service = await seedService(db(), { defaultEnv: { [FAULT_ENV]: "image-pull" } });
    const s = await activated({ service });
    advance(3 * DELAY);
    await sweep();
    expect((await instanceRow(db(), s.instanceId)).status).toBe("FAILED");

    await db()
      .update(serviceCatalog)
      .set({ defaultEnv: {} })
      .where(eq(serviceCatalog.id, service.id));
    expect((await sweep()).respecified).toBe(1);
    advance(3 * DELAY);
    await sweep();
    expect((await instanceRow(db(), s.instanceId)).status).toBe("RUNNING");
    expect(await emitted(db(), s.instanceId)).toContain("instance.running");
  });

  it("leaves a suspended instance alone: it gets the new spec when it resumes", async () => {
    const s = await activated();
    await setSubscriptionStatus(db(), s.subscriptionId, "EXPIRED");
    await deliver(t.app, subscriptionEvent("subscription.expired", s));
    expect((await instanceRow(db(), s.instanceId)).status).toBe("SUSPENDED");
    await db()
      .update(serviceCatalog)
      .set({ imageTag: "2.0.0" })
      .where(eq(serviceCatalog.id, s.service.id));
    expect((await sweep()).respecified).toBe(0);
    expect((await workloadApp(s.instanceId))?.imageTag).not.toBe("2.0.0");

    await setSubscriptionStatus(db(), s.subscriptionId, "ACTIVE");
    await deliver(t.app, subscriptionEvent("subscription.renewed", s));
    expect((await workloadApp(s.instanceId))?.imageTag).toBe("2.0.0");
  });

  it("rolls a change out a few instances per sweep (RECONCILE_ROLLOUT_BATCH)", async () => {
    const small = await setupProvisioner({ env: { RECONCILE_ROLLOUT_BATCH: "2" } });
    try {
      const service = await seedService(small.h.database.db);
      for (let i = 0; i < 5; i++) {
        const s = await activeSubscription(small.h, { service });
        await deliver(small.app, subscriptionEvent("subscription.activated", s));
      }
      await small.h.database.db
        .update(serviceCatalog)
        .set({ memory: "768Mi" })
        .where(eq(serviceCatalog.id, service.id));
      const run = async () =>
        (await (await small.app.request("/cron/reconcile", { method: "POST" })).json()) as Record<
          string,
          number
        >;
      const rounds = [];
      for (let i = 0; i < 4; i++) {
        const r = await run();
        rounds.push([r.respecified, r.respecDeferred]);
      }
      expect(rounds).toEqual([
        [2, 3],
        [2, 1],
        [1, 0],
        [0, 0],
      ]);
    } finally {
      await small.h.close();
    }
  });
});

describe("events the provisioner can't or needn't handle", () => {
  it("answers 400 to a request that is not a CloudEvent", async () => {
    const response = await t.app.request("/events", { method: "POST", body: "hello" });
    expect(response.status).toBe(400);
  });

  it("answers 422 to data that does not match the event's schema (never retried)", async () => {
    const s = await activeSubscription(t.h);
    const event = subscriptionEvent("subscription.activated", s, { data: { userId: s.user.id } });
    const response = await deliver(t.app, event);
    expect(response.status).toBe(422);
    expect((await instanceRow(db(), s.instanceId)).status).toBe("PENDING");
  });

  it("ignores event types it does not handle", async () => {
    const s = await activeSubscription(t.h);
    const response = await deliver(t.app, subscriptionEvent("subscription.auto_renew_changed", s));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ outcome: "ignored" });
  });

  it("asks for a retry (503) when the cluster is unavailable, and records nothing", async () => {
    const down: ClusterPort = new Proxy(t.cluster, {
      get(target, prop, receiver) {
        if (prop === "name") return "down";
        if (typeof Reflect.get(target, prop, receiver) !== "function") {
          return Reflect.get(target, prop, receiver);
        }
        return () => Promise.reject(new ClusterError("unavailable", "503 from the API server"));
      },
    });
    const s = await activeSubscription(t.h);
    const { headers, body } = toBinaryHttp(subscriptionEvent("subscription.activated", s));
    const response = await t.appWith(down).request("/events", { method: "POST", headers, body });
    expect(response.status).toBe(503);
    expect((await instanceRow(db(), s.instanceId)).status).toBe("PENDING");
    expect(await emitted(db(), s.instanceId)).toEqual([]);
  });

  it("counts each answer in minispod_events_consumed_total, by type and outcome", async () => {
    const count = async (type: string, outcome: string) => {
      const text = await t.deps.metrics.registry.metrics();
      const line = new RegExp(
        `^minispod_events_consumed_total\\{type="${type}",consumer="provisioner",outcome="${outcome}",function="provisioner"\\} (\\d+)$`,
        "m",
      ).exec(text);
      return Number(line?.[1] ?? 0);
    };
    const before = {
      processed: await count("subscription.activated", "processed"),
      rejected: await count("subscription.activated", "rejected"),
      ignored: await count("subscription.auto_renew_changed", "ignored"),
    };
    const s = await activeSubscription(t.h);
    await deliver(t.app, subscriptionEvent("subscription.auto_renew_changed", s));
    await deliver(
      t.app,
      subscriptionEvent("subscription.activated", s, { data: { userId: s.user.id } }),
    );
    expect((await deliver(t.app, subscriptionEvent("subscription.activated", s))).status).toBe(200);
    expect(await count("subscription.activated", "processed")).toBe(before.processed + 1);
    expect(await count("subscription.activated", "rejected")).toBe(before.rejected + 1);
    expect(await count("subscription.auto_renew_changed", "ignored")).toBe(before.ignored + 1);
  });

  it("fails the instance when the cluster refuses the workload (422: a retry won't help)", async () => {
    const refusing: ClusterPort = {
      ...t.cluster,
      name: "refusing",
      applyInstance: () => Promise.reject(new ClusterError("invalid", "spec.template: Invalid")),
    };
    const s = await activeSubscription(t.h);
    const response = await deliver(
      t.appWith(refusing),
      subscriptionEvent("subscription.activated", s),
    );
    expect(response.status).toBe(200);
    expect(await instanceRow(db(), s.instanceId)).toMatchObject({
      status: "FAILED",
      lastError: "the cluster refused the workload",
    });
    expect(await emitted(db(), s.instanceId)).toEqual(["instance.failed"]);
  });

  it("counts each instance that turns FAILED once, in minispod_instances_failed_total", async () => {
    const failed = async () => {
      const text = await t.deps.metrics.registry.metrics();
      const line = /^minispod_instances_failed_total\{function="provisioner"\} (\d+)$/m.exec(text);
      if (!line) throw new Error(`minispod_instances_failed_total is not exposed:\n${text}`);
      return Number(line[1]);
    };
    const before = await failed();
    // Observed by the sweep, then observed again: one failure.
    const pull = await activated({
      service: await seedService(db(), { defaultEnv: { [FAULT_ENV]: "image-pull" } }),
    });
    advance(DELAY);
    await sweep();
    await sweep();
    expect((await instanceRow(db(), pull.instanceId)).status).toBe("FAILED");
    expect(await failed()).toBe(before + 1);
    // Failed at once by the apply (converge), and refused by the cluster.
    await activated({
      service: await seedService(db(), { defaultEnv: { [FAULT_ENV]: "quota" } }),
    });
    expect(await failed()).toBe(before + 2);
    const refusing: ClusterPort = {
      ...t.cluster,
      applyInstance: () => Promise.reject(new ClusterError("invalid", "spec.template: Invalid")),
    };
    const s = await activeSubscription(t.h);
    await deliver(t.appWith(refusing), subscriptionEvent("subscription.activated", s));
    await deliver(t.appWith(refusing), subscriptionEvent("subscription.activated", s));
    expect(await failed()).toBe(before + 3);
  });
});
