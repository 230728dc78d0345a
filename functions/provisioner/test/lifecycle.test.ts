import { simulatedNamespaces, simulatedWorkloads } from "@minispod/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  activeSubscription,
  deliver,
  emitted,
  instanceRow,
  type ProvisionerTest,
  refOf,
  type Subscribed,
  seedService,
  setSubscriptionStatus,
  setupProvisioner,
  subscriptionEvent,
  timeline,
} from "./helpers";

let t: ProvisionerTest;
beforeAll(async () => {
  t = await setupProvisioner();
});
afterAll(() => t.h.close());

const db = () => t.h.database.db;

async function workload(instanceId: string) {
  const [row] = await db()
    .select()
    .from(simulatedWorkloads)
    .where(eq(simulatedWorkloads.instanceId, instanceId));
  return row;
}

async function expectDelivered(s: Subscribed, type: Parameters<typeof subscriptionEvent>[0]) {
  const response = await deliver(t.app, subscriptionEvent(type, s));
  expect(response.status).toBe(200);
  return (await response.json()) as { outcome: string; status?: string };
}

describe("activation", () => {
  it("provisions: PENDING -> PROVISIONING -> RUNNING with the cluster's URL", async () => {
    const s = await activeSubscription(t.h);
    const result = await expectDelivered(s, "subscription.activated");
    expect(result).toMatchObject({ outcome: "converged", status: "RUNNING" });

    const row = await instanceRow(db(), s.instanceId);
    expect(row.status).toBe("RUNNING");
    expect(row.url).toBe(`https://i-${s.instanceId}.apps.localhost`);
    expect(row.namespace).toBe(`customer-${s.user.id}`);
    expect(row.lastError).toBeNull();
    expect(await timeline(db(), s.instanceId)).toEqual([
      "PENDING Waiting to be provisioned.",
      "PROVISIONING Creating the workload.",
      "RUNNING Running.",
    ]);
    expect((await emitted(db(), s.instanceId)).sort()).toEqual([
      "instance.provisioning",
      "instance.running",
    ]);
    expect((await t.cluster.readStatus(refOf(s))).phase).toBe("running");
    const [namespace] = await db()
      .select()
      .from(simulatedNamespaces)
      .where(eq(simulatedNamespaces.name, `customer-${s.user.id}`));
    expect(namespace?.plans).toEqual([
      { cpu: "250m", memory: "256Mi", storage: "1Gi", storageMountPath: "/data" },
    ]);
  });

  it("runs the customer's namespace at the baseline level only when one of their apps needs it", async () => {
    const user = await t.h.user();
    const restricted = await activeSubscription(t.h, { user });
    await expectDelivered(restricted, "subscription.activated");
    const level = async () =>
      (
        await db()
          .select()
          .from(simulatedNamespaces)
          .where(eq(simulatedNamespaces.name, `customer-${user.id}`))
      )[0]?.podSecurity;
    expect(await level()).toBe("restricted");
    const service = await seedService(db(), {
      workload: { podSecurity: "baseline", runAsUser: null },
    });
    const root = await activeSubscription(t.h, { user, service });
    await expectDelivered(root, "subscription.activated");
    expect(await level()).toBe("baseline");
    const [workload] = await db()
      .select()
      .from(simulatedWorkloads)
      .where(eq(simulatedWorkloads.instanceId, root.instanceId));
    expect(workload?.app).toMatchObject({ podSecurity: "baseline", runAsUser: null });
  });

  it("sends the instance events to the broker right away", async () => {
    const s = await activeSubscription(t.h);
    await expectDelivered(s, "subscription.activated");
    await t.deps.events.idle();
    const sent = t.h.publisher.events.filter((e) => e.subject === s.instanceId).map((e) => e.type);
    expect(sent.sort()).toEqual([
      "dev.minispod.instance.provisioning",
      "dev.minispod.instance.running",
    ]);
  });

  it("does nothing for a subscription not paid yet", async () => {
    const s = await activeSubscription(t.h, { status: "PENDING" });
    expect(await expectDelivered(s, "subscription.activated")).toMatchObject({
      outcome: "nothing-to-do",
    });
    expect((await instanceRow(db(), s.instanceId)).status).toBe("PENDING");
    expect(await workload(s.instanceId)).toBeUndefined();
  });

  it("answers 200 to an event about a subscription without an instance", async () => {
    const s = await activeSubscription(t.h);
    const other = { ...s, subscriptionId: crypto.randomUUID() };
    expect(await expectDelivered(other, "subscription.activated")).toEqual({
      outcome: "no-instance",
    });
  });
});

describe("the whole life of an instance", () => {
  it("suspends on expiry, resumes on renewal, deletes on cancellation", async () => {
    const s = await activeSubscription(t.h);
    await expectDelivered(s, "subscription.activated");

    await setSubscriptionStatus(db(), s.subscriptionId, "EXPIRED");
    expect(await expectDelivered(s, "subscription.expired")).toMatchObject({ status: "SUSPENDED" });
    expect(await t.cluster.readStatus(refOf(s))).toMatchObject({
      phase: "suspended",
      replicas: { desired: 0, ready: 0 },
    });
    // The volume (and the rest of the objects) stay while suspended.
    expect(await workload(s.instanceId)).toBeDefined();

    await setSubscriptionStatus(db(), s.subscriptionId, "ACTIVE");
    expect(await expectDelivered(s, "subscription.renewed")).toMatchObject({ status: "RUNNING" });
    expect((await t.cluster.readStatus(refOf(s))).phase).toBe("running");

    await setSubscriptionStatus(db(), s.subscriptionId, "CANCELLED");
    expect(await expectDelivered(s, "subscription.cancelled")).toMatchObject({ status: "DELETED" });
    expect((await t.cluster.readStatus(refOf(s))).phase).toBe("missing");
    const [namespace] = await db()
      .select()
      .from(simulatedNamespaces)
      .where(eq(simulatedNamespaces.name, `customer-${s.user.id}`));
    expect(namespace).toBeUndefined();

    expect(await timeline(db(), s.instanceId)).toEqual([
      "PENDING Waiting to be provisioned.",
      "PROVISIONING Creating the workload.",
      "RUNNING Running.",
      "SUSPENDED Suspended: the subscription expired. Its data is kept.",
      "PROVISIONING Resuming: the subscription is live again.",
      "RUNNING Running.",
      "DELETED Deleted, with its data and the customer's now empty namespace.",
    ]);
    expect((await emitted(db(), s.instanceId)).sort()).toEqual([
      "instance.deleted",
      "instance.provisioning",
      "instance.resumed",
      "instance.running",
      "instance.running",
      "instance.suspended",
    ]);
  });

  it("keeps the namespace while another instance of the customer lives in it", async () => {
    const first = await activeSubscription(t.h);
    const second = await activeSubscription(t.h, { user: first.user });
    await expectDelivered(first, "subscription.activated");
    await expectDelivered(second, "subscription.activated");
    await setSubscriptionStatus(db(), first.subscriptionId, "CANCELLED");
    await expectDelivered(first, "subscription.cancelled");
    expect(await timeline(db(), first.instanceId)).toContain("DELETED Deleted, with its data.");
    const [namespace] = await db()
      .select()
      .from(simulatedNamespaces)
      .where(eq(simulatedNamespaces.name, `customer-${first.user.id}`));
    // The quota shrank to the one instance left.
    expect(namespace?.plans).toHaveLength(1);
    expect((await t.cluster.readStatus(refOf(second))).phase).toBe("running");
  });

  it("deletes an expired instance when its data is purged, but not one renewed since", async () => {
    const purged = await activeSubscription(t.h);
    await expectDelivered(purged, "subscription.activated");
    await setSubscriptionStatus(db(), purged.subscriptionId, "EXPIRED");
    await expectDelivered(purged, "subscription.expired");
    expect(await expectDelivered(purged, "subscription.purged")).toMatchObject({
      status: "DELETED",
    });
    expect(await workload(purged.instanceId)).toBeUndefined();

    const renewed = await activeSubscription(t.h);
    await expectDelivered(renewed, "subscription.activated");
    // The purge lost the race against a renewal: the subscription decides.
    expect(await expectDelivered(renewed, "subscription.purged")).toMatchObject({
      status: "RUNNING",
    });
    expect((await t.cluster.readStatus(refOf(renewed))).phase).toBe("running");
  });

  it("suspends an instance that expired before it was ever provisioned without failing", async () => {
    const s = await activeSubscription(t.h, { status: "EXPIRED" });
    expect(await expectDelivered(s, "subscription.expired")).toMatchObject({ status: "SUSPENDED" });
    expect(await workload(s.instanceId)).toBeUndefined();
  });
});

describe("redelivery and reordering", () => {
  it("does nothing more when the same activation is delivered again", async () => {
    const s = await activeSubscription(t.h);
    const event = subscriptionEvent("subscription.activated", s);
    await deliver(t.app, event);
    const before = await workload(s.instanceId);
    const again = await deliver(t.app, event);
    expect(again.status).toBe(200);
    await deliver(t.app, subscriptionEvent("subscription.activated", s));
    const after = await workload(s.instanceId);
    expect(after?.generation).toBe(before?.generation);
    expect(after?.rolloutStartedAt).toEqual(before?.rolloutStartedAt);
    expect(await timeline(db(), s.instanceId)).toHaveLength(3);
    expect(await emitted(db(), s.instanceId)).toHaveLength(2);
  });

  it("never resurrects a cancelled instance when the activation arrives late", async () => {
    const s = await activeSubscription(t.h);
    await setSubscriptionStatus(db(), s.subscriptionId, "CANCELLED");
    await expectDelivered(s, "subscription.cancelled");
    expect(await expectDelivered(s, "subscription.activated")).toMatchObject({
      desired: "deleted",
      status: "DELETED",
    });
    expect(await workload(s.instanceId)).toBeUndefined();
    expect(await emitted(db(), s.instanceId)).toEqual(["instance.deleted"]);
  });

  it("leaves everything as one delivery would after every event twice, out of order", async () => {
    const once = await activeSubscription(t.h);
    const twice = await activeSubscription(t.h);
    const types = [
      "subscription.activated",
      "subscription.expired",
      "subscription.renewed",
      "subscription.cancelled",
      "subscription.purged",
    ] as const;
    // The life both subscriptions had: the database ends CANCELLED.
    for (const s of [once, twice]) await setSubscriptionStatus(db(), s.subscriptionId, "CANCELLED");
    for (const type of types) await expectDelivered(once, type);
    const replay = [...types, ...types].reverse();
    replay.push(replay.shift()!);
    for (const type of replay) await expectDelivered(twice, type);
    for (const s of [once, twice]) {
      expect(await workload(s.instanceId)).toBeUndefined();
      expect((await instanceRow(db(), s.instanceId)).status).toBe("DELETED");
      expect(await emitted(db(), s.instanceId)).toEqual(["instance.deleted"]);
    }
  });

  it("converges concurrent deliveries of one activation to one set of transitions", async () => {
    const s = await activeSubscription(t.h);
    const responses = await Promise.all(
      Array.from({ length: 4 }, () =>
        deliver(t.app, subscriptionEvent("subscription.activated", s)),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect((await instanceRow(db(), s.instanceId)).status).toBe("RUNNING");
    expect((await emitted(db(), s.instanceId)).sort()).toEqual([
      "instance.provisioning",
      "instance.running",
    ]);
  });
});
