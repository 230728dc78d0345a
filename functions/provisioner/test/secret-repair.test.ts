import type { ClusterPort, InstanceSpec } from "@minispod/cluster";
import { readCredential, rotateCredential } from "@minispod/instances";
import { developmentKeyring } from "@minispod/shared";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
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

// A Secret deleted behind our back, played by the simulated cluster's
// "secret-missing" fault: the sweep sees the pods waiting for it and creates
// it again, the customer's credentials with their current values.
const DELAY = 1000;
const keyring = developmentKeyring();
const REPAIRED =
  "PROVISIONING The app's Secret was missing and has been re-created; generated values other than your credentials were regenerated.";

let t: ProvisionerTest;
let app: ProvisionerTest["app"];
/** Every recreateSecret call; `answer` overrides the cluster's (a 409 played as created: false). */
const recreated: InstanceSpec[] = [];
let answer: { created: boolean } | null = null;
/** An instance whose old pod still serves while a surge pod waits for the Secret. */
let surging: string | null = null;

beforeAll(async () => {
  t = await setupProvisioner({ delayMs: DELAY, env: { PROVISION_TIMEOUT: "60s" } });
  t.h.clock.now = new Date("2026-03-01T12:00:00Z");
  const recording: ClusterPort = {
    ...t.cluster,
    listStatuses: async (options) => {
      const page = await t.cluster.listStatuses(options);
      const items = page.items.map((item) =>
        item.instanceId === surging && item.secretMissing
          ? { ...item, phase: "running" as const, reason: "running" }
          : item,
      );
      return { ...page, items };
    },
    recreateSecret: async (spec) => {
      recreated.push(spec);
      return answer ?? t.cluster.recreateSecret(spec);
    },
  };
  app = t.appWith(recording);
});
afterAll(() => t.h.close());
beforeEach(() => {
  recreated.length = 0;
  answer = null;
  surging = null;
});

const db = () => t.h.database.db;
const advance = (ms: number) => {
  t.h.clock.now = new Date(t.h.clock.now.getTime() + ms);
};
const sweep = async () => {
  const response = await app.request("/cron/reconcile", { method: "POST" });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, number>;
};

/** A running Vaultwarden whose Secret then goes missing. */
async function lostSecret() {
  const service = await seedService(db(), {
    name: "Vaultwarden",
    workload: {
      generatedSecrets: ["ADMIN_TOKEN", "INTERNAL_KEY"],
      credentials: [{ secret: "ADMIN_TOKEN", label: "Admin page token", path: "/admin" }],
    },
  });
  const s = await activeSubscription(t.h, { service });
  expect((await deliver(app, subscriptionEvent("subscription.activated", s))).status).toBe(200);
  advance(3 * DELAY);
  await sweep();
  expect((await instanceRow(db(), s.instanceId)).status).toBe("RUNNING");
  await t.cluster.setFault(refOf(s), "secret-missing");
  advance(DELAY);
  return s;
}

describe("a Secret deleted behind our back", () => {
  it("is re-created by the sweep with the customer's current credential, and the instance runs again", async () => {
    const s = await lostSecret();
    // Rotated once: the current value, not the first one, must be written.
    await rotateCredential(db(), keyring, s.instanceId, "ADMIN_TOKEN", t.h.clock.now);
    const current = await readCredential(db(), keyring, s.instanceId, "ADMIN_TOKEN");

    const result = await sweep();
    expect(result).toMatchObject({ secretsRecreated: 1, observed: 0, errors: 0 });
    expect(recreated).toHaveLength(1);
    // Only the credential is given; INTERNAL_KEY is generated anew by the driver.
    expect(recreated[0]?.secretValues).toEqual({ ADMIN_TOKEN: current });
    expect(recreated[0]?.app.generatedSecrets).toEqual(["ADMIN_TOKEN", "INTERNAL_KEY"]);
    expect(recreated[0]).toMatchObject(refOf(s));

    // Told in plain words; not FAILED, no failure event: the pod starts on its own now.
    expect(await instanceRow(db(), s.instanceId)).toMatchObject({
      status: "PROVISIONING",
      lastError: null,
    });
    expect((await timeline(db(), s.instanceId)).at(-1)).toBe(REPAIRED);
    expect(await emitted(db(), s.instanceId)).not.toContain("instance.failed");

    advance(3 * DELAY);
    expect(await sweep()).toMatchObject({ secretsRecreated: 0, errors: 0 });
    expect((await instanceRow(db(), s.instanceId)).status).toBe("RUNNING");
    // One create: a healthy instance is never sent another (the quota charges each one).
    expect(recreated).toHaveLength(1);
    expect(await readCredential(db(), keyring, s.instanceId, "ADMIN_TOKEN")).toBe(current);
  });

  it("keeps a Secret that exists again (409) and records what the pods say instead", async () => {
    const s = await lostSecret();
    answer = { created: false };
    const result = await sweep();
    expect(result).toMatchObject({ secretsRecreated: 0, observed: 1, errors: 0 });
    expect(recreated).toHaveLength(1);
    expect(await instanceRow(db(), s.instanceId)).toMatchObject({
      status: "FAILED",
      lastError: "the app's Secret is missing",
    });
    expect((await timeline(db(), s.instanceId)).at(-1)).toBe("FAILED The app's Secret is missing.");
    expect(await timeline(db(), s.instanceId)).not.toContain(REPAIRED);

    // The next sweep creates it (the cluster answers for itself again) and the instance recovers.
    answer = null;
    expect(await sweep()).toMatchObject({ secretsRecreated: 1 });
    expect((await timeline(db(), s.instanceId)).at(-1)).toBe(REPAIRED);
    advance(3 * DELAY);
    await sweep();
    expect(await instanceRow(db(), s.instanceId)).toMatchObject({
      status: "RUNNING",
      lastError: null,
    });
  });

  it("keeps a serving instance RUNNING when only a surge pod waited for it, with the line on its timeline", async () => {
    const s = await lostSecret();
    surging = s.instanceId;
    expect(await sweep()).toMatchObject({ secretsRecreated: 1, errors: 0 });
    expect(await instanceRow(db(), s.instanceId)).toMatchObject({ status: "RUNNING" });
    expect((await timeline(db(), s.instanceId)).at(-1)).toBe(
      REPAIRED.replace("PROVISIONING", "RUNNING"),
    );
    expect(await emitted(db(), s.instanceId)).not.toContain("instance.failed");
  });

  it("is left alone for an expired subscription: the sweep suspends it, no pod waits for the Secret", async () => {
    const s = await lostSecret();
    await setSubscriptionStatus(db(), s.subscriptionId, "EXPIRED");
    expect(await sweep()).toMatchObject({ secretsRecreated: 0, converged: 1 });
    expect((await instanceRow(db(), s.instanceId)).status).toBe("SUSPENDED");
    await sweep();
    expect(recreated).toHaveLength(0);
  });
});
