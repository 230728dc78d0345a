import { randomUUID } from "node:crypto";
import type { ClusterPort, InstanceRef, InstanceSpec } from "@minispod/cluster";
import { instanceCredentials, outboxEvents, simulatedWorkloads } from "@minispod/db";
import { readCredential, rotateCredential } from "@minispod/instances";
import { type CloudEventMessage, developmentKeyring, fullType } from "@minispod/shared";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  activeSubscription,
  deliver,
  type ProvisionerTest,
  type Subscribed,
  seedService,
  setupProvisioner,
  subscriptionEvent,
} from "./helpers";

/** The simulated cluster, with every apply and Secret update it was asked for. */
interface Recorded {
  applied: InstanceSpec[];
  secretUpdates: { ref: InstanceRef; values: Record<string, string> }[];
  restarts: InstanceRef[];
}

let t: ProvisionerTest;
let app: ProvisionerTest["app"];
const seen: Recorded = { applied: [], secretUpdates: [], restarts: [] };
const keyring = developmentKeyring();
const db = () => t.h.database.db;

beforeAll(async () => {
  t = await setupProvisioner();
  const recording: ClusterPort = {
    ...t.cluster,
    applyInstance: (spec) => {
      seen.applied.push(spec);
      return t.cluster.applyInstance(spec);
    },
    setSecretValues: (ref, values) => {
      seen.secretUpdates.push({ ref, values: { ...values } });
      return t.cluster.setSecretValues(ref, values);
    },
    restart: (ref) => {
      seen.restarts.push(ref);
      return t.cluster.restart(ref);
    },
  };
  app = t.appWith(recording);
});
afterAll(() => t.h.close());

const vaultwarden = () =>
  seedService(db(), {
    name: "Vaultwarden",
    workload: {
      generatedSecrets: ["ADMIN_TOKEN", "INTERNAL_KEY"],
      credentials: [{ secret: "ADMIN_TOKEN", label: "Admin page token", path: "/admin" }],
    },
  });

const rotatedEvent = (s: Subscribed, data: Record<string, unknown> = {}): CloudEventMessage => ({
  id: randomUUID(),
  type: fullType("instance.credentials_rotated"),
  source: "instances",
  subject: s.instanceId,
  time: new Date().toISOString(),
  data: {
    userId: s.user.id,
    instanceId: s.instanceId,
    subscriptionId: s.subscriptionId,
    serviceName: s.service.name,
    name: "ADMIN_TOKEN",
    version: 2,
    ...data,
  },
});

async function provisioned() {
  const s = await activeSubscription(t.h, { service: await vaultwarden() });
  const response = await deliver(app, subscriptionEvent("subscription.activated", s));
  expect(response.status).toBe(200);
  return s;
}

describe("credentials at provision", () => {
  it("generates the handed-over credential once, seals it, and writes it into the Secret", async () => {
    const s = await provisioned();
    const stored = await readCredential(db(), keyring, s.instanceId, "ADMIN_TOKEN");
    expect(stored).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const spec = seen.applied.filter((a) => a.instanceId === s.instanceId);
    expect(spec.at(-1)?.secretValues).toEqual({ ADMIN_TOKEN: stored });
    // Only the handed-over one is stored; INTERNAL_KEY stays the cluster's own.
    const rows = await db()
      .select()
      .from(instanceCredentials)
      .where(eq(instanceCredentials.instanceId, s.instanceId));
    expect(rows.map((r) => r.name)).toEqual(["ADMIN_TOKEN"]);
    // Never in the simulated cluster's state (which stands for what the cluster stores readably).
    const [workload] = await db()
      .select()
      .from(simulatedWorkloads)
      .where(eq(simulatedWorkloads.instanceId, s.instanceId));
    expect(JSON.stringify(workload)).not.toContain(stored);
  });

  it("keeps the value when the event is replayed or the instance re-applied", async () => {
    const s = await provisioned();
    const first = await readCredential(db(), keyring, s.instanceId, "ADMIN_TOKEN");
    await deliver(app, subscriptionEvent("subscription.renewed", s));
    expect(await readCredential(db(), keyring, s.instanceId, "ADMIN_TOKEN")).toBe(first);
    const specs = seen.applied.filter((a) => a.instanceId === s.instanceId);
    expect(specs.length).toBeGreaterThanOrEqual(2);
    expect(specs.every((a) => a.secretValues?.ADMIN_TOKEN === first)).toBe(true);
  });

  it("names the app and its credentials in the instance events the emails are made from", async () => {
    const s = await provisioned();
    const events = await db()
      .select()
      .from(outboxEvents)
      .where(eq(outboxEvents.subject, s.instanceId));
    const running = events.find((e) => e.type === "dev.minispod.instance.running");
    expect(running?.data).toMatchObject({
      serviceName: "Vaultwarden",
      credentials: ["Admin page token"],
    });
    expect(JSON.stringify(events)).not.toContain(
      await readCredential(db(), keyring, s.instanceId, "ADMIN_TOKEN"),
    );
  });

  it("stores nothing for an app without credentials", async () => {
    const s = await activeSubscription(t.h);
    await deliver(app, subscriptionEvent("subscription.activated", s));
    const rows = await db()
      .select()
      .from(instanceCredentials)
      .where(eq(instanceCredentials.instanceId, s.instanceId));
    expect(rows).toEqual([]);
  });
});

describe("instance.credentials_rotated", () => {
  it("writes the stored (newest) value into the Secret and rolls the workload", async () => {
    const s = await provisioned();
    await rotateCredential(db(), keyring, s.instanceId, "ADMIN_TOKEN", new Date());
    const rotated = await readCredential(db(), keyring, s.instanceId, "ADMIN_TOKEN");
    const response = await deliver(app, rotatedEvent(s));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ outcome: "applied" });
    const ref = { customerId: s.user.id, instanceId: s.instanceId };
    expect(seen.secretUpdates.filter((u) => u.ref.instanceId === s.instanceId)).toEqual([
      { ref, values: { ADMIN_TOKEN: rotated } },
    ]);
    expect(seen.restarts).toContainEqual(ref);
  });

  it("does nothing for an instance not yet applied: its first apply writes the stored value", async () => {
    const s = await activeSubscription(t.h, { service: await vaultwarden() });
    await rotateCredential(db(), keyring, s.instanceId, "ADMIN_TOKEN", new Date());
    const response = await deliver(app, rotatedEvent(s));
    expect(await response.json()).toEqual({ outcome: "nothing-to-do" });
    expect(seen.secretUpdates.some((u) => u.ref.instanceId === s.instanceId)).toBe(false);
  });

  it("answers no-instance for an instance that is gone", async () => {
    const s = await provisioned();
    const response = await deliver(app, rotatedEvent(s, { instanceId: randomUUID() }));
    expect(await response.json()).toEqual({ outcome: "no-instance" });
  });

  it("rejects for good (422) an event whose data does not match its schema", async () => {
    const s = await provisioned();
    const response = await deliver(app, rotatedEvent(s, { name: 42 }));
    expect(response.status).toBe(422);
  });

  it("asks for a retry (503) when the cluster cannot be reached", async () => {
    const s = await provisioned();
    const down = t.appWith({
      ...t.cluster,
      setSecretValues: () => Promise.reject(new Error("connection refused")),
    });
    const response = await deliver(down, rotatedEvent(s));
    expect(response.status).toBe(503);
  });
});
