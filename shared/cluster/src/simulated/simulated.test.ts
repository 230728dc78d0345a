import { randomUUID } from "node:crypto";
import type { Database } from "@minispod/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultClusterConfig } from "../config";
import { specHash } from "../names";
import { type AppSpec, isClusterError } from "../port";
import { createSimulatedCluster, FAULT_ENV, type SimulatedCluster } from "./index";
import { openSimulatedCluster } from "./test-setup";

// The simulated driver is local mode's cluster: tested as the feature it is,
// against real PostgreSQL, with an injected clock instead of sleeping.
let database: Database;
let close: () => Promise<void>;
const clock = { now: new Date("2026-01-01T00:00:00Z") };
const DELAY = 1000;
let cluster: SimulatedCluster;

const app = (overrides: Partial<AppSpec> = {}): AppSpec => ({
  slug: "gitea",
  image: "gitea/gitea",
  imageTag: "1.22",
  port: 3000,
  env: { GITEA__server__DISABLE_SSH: "true" },
  resources: { cpu: "500m", memory: "512Mi", storage: "5Gi", storageMountPath: "/data" },
  ...overrides,
});

const advance = (ms: number) => {
  clock.now = new Date(clock.now.getTime() + ms);
};

async function provisioned(spec: Partial<AppSpec> = {}) {
  const ref = { customerId: randomUUID(), instanceId: randomUUID() };
  await cluster.ensureNamespace({ customerId: ref.customerId, plans: [app(spec).resources] });
  const applied = await cluster.applyInstance({ ...ref, app: app(spec) });
  return { ref, applied };
}

beforeAll(async () => {
  ({ cluster, database, close } = await openSimulatedCluster({
    delayMs: DELAY,
    now: () => clock.now,
  }));
});
afterAll(() => close());

describe("simulated cluster: a healthy rollout", () => {
  it("walks starting -> running in three delay steps, with the events a pod would produce", async () => {
    const { ref, applied } = await provisioned();
    expect(applied.name).toBe(`i-${ref.instanceId}`);
    expect(applied.namespace).toBe(`customer-${ref.customerId}`);
    expect(applied.url).toBe(`https://i-${ref.instanceId}.apps.localhost`);

    let status = await cluster.readStatus(ref);
    expect(status).toMatchObject({ phase: "starting", reason: "starting" });
    expect(status.replicas).toEqual({ desired: 1, ready: 0 });
    advance(2 * DELAY);
    status = await cluster.readStatus(ref);
    expect(status.phase).toBe("starting");
    expect(status.events[0]?.reason).toBe("Started");
    advance(DELAY);
    status = await cluster.readStatus(ref);
    expect(status).toMatchObject({ phase: "running", reason: "running" });
    expect(status.replicas).toEqual({ desired: 1, ready: 1 });
    expect(status.events.map((e) => e.reason)).toEqual([
      "Started",
      "Created",
      "Pulled",
      "Pulling",
      "Scheduled",
      "ScalingReplicaSet",
    ]);
  });

  it("with no delay is running as soon as it is applied", async () => {
    const instant = createSimulatedCluster({
      db: database.db,
      config: defaultClusterConfig,
      delayMs: 0,
    });
    const ref = { customerId: randomUUID(), instanceId: randomUUID() };
    await instant.ensureNamespace({ customerId: ref.customerId, plans: [] });
    await instant.applyInstance({ ...ref, app: app() });
    expect((await instant.readStatus(ref)).phase).toBe("running");
  });

  it("refuses an instance whose namespace does not exist", async () => {
    const ref = { customerId: randomUUID(), instanceId: randomUUID() };
    const error = await cluster.applyInstance({ ...ref, app: app() }).catch((e: unknown) => e);
    expect(isClusterError(error, "not_found")).toBe(true);
  });

  it("writes nothing when the same spec is applied again, so a replay starts no rollout", async () => {
    const { ref } = await provisioned();
    advance(3 * DELAY);
    await cluster.applyInstance({ ...ref, app: app() });
    expect((await cluster.readStatus(ref)).phase).toBe("running");
    expect((await cluster.readStatus(ref)).specHash).toBe(specHash(app()));
    // A changed template is a new rollout, under a new hash.
    await cluster.applyInstance({ ...ref, app: app({ imageTag: "1.23" }) });
    const changed = await cluster.readStatus(ref);
    expect(changed.phase).toBe("starting");
    expect(changed.specHash).toBe(specHash(app({ imageTag: "1.23" })));
    expect(changed.specHash).not.toBe(specHash(app()));
  });

  it("suspends to zero replicas and resumes with a fresh rollout", async () => {
    const { ref } = await provisioned();
    advance(3 * DELAY);
    await cluster.scaleInstance(ref, 0);
    expect(await cluster.readStatus(ref)).toMatchObject({
      phase: "suspended",
      replicas: { desired: 0, ready: 0 },
    });
    expect((await cluster.logs(ref)).pod).toBeNull();
    await cluster.scaleInstance(ref, 1);
    expect((await cluster.readStatus(ref)).phase).toBe("starting");
    advance(3 * DELAY);
    expect((await cluster.readStatus(ref)).phase).toBe("running");
  });

  it("restarts with a new pod and the same configuration", async () => {
    const { ref } = await provisioned();
    advance(3 * DELAY);
    const before = (await cluster.logs(ref)).pod;
    const { restartedAt } = await cluster.restart(ref);
    expect(restartedAt).toBe(clock.now.toISOString());
    expect((await cluster.readStatus(ref)).phase).toBe("starting");
    advance(3 * DELAY);
    const after = await cluster.logs(ref);
    expect(after.pod).not.toBe(before);
    expect(after.lines[0]).toContain("starting gitea/gitea:1.22");
  });
});

describe("simulated cluster: logs", () => {
  it("has start-up lines then a line every 30 s, filtered by tail and since", async () => {
    const { ref } = await provisioned();
    advance(3 * DELAY + 5 * 60_000);
    const all = await cluster.logs(ref);
    expect(all.pod).toMatch(/^i-.+-sim$/);
    expect(all.lines[1]).toContain("listening on 0.0.0.0:3000");
    expect(all.lines.length).toBe(2 + 11);
    expect((await cluster.logs(ref, { tailLines: 3 })).lines).toEqual(all.lines.slice(-3));
    const recent = await cluster.logs(ref, { sinceSeconds: 60 });
    expect(recent.lines.length).toBe(3);
    for (const line of recent.lines) {
      expect(Date.parse(line.split(" ")[0]!)).toBeGreaterThanOrEqual(clock.now.getTime() - 60_000);
    }
  });
});

describe("simulated cluster: failures", () => {
  it("fails the way the catalog marker says: image pull after the pull step", async () => {
    const { ref } = await provisioned({ env: { [FAULT_ENV]: "image-pull" } });
    expect((await cluster.readStatus(ref)).phase).toBe("starting");
    advance(DELAY);
    const status = await cluster.readStatus(ref);
    expect(status).toMatchObject({ phase: "failed", reason: "image could not be pulled" });
    expect(status.events[0]).toMatchObject({ type: "Warning", reason: "ImagePullBackOff" });
    expect((await cluster.logs(ref)).lines).toEqual([]);
  });

  it("reports quota exceeded at once, with no pod", async () => {
    const { ref } = await provisioned({ env: { [FAULT_ENV]: "quota" } });
    expect(await cluster.readStatus(ref)).toMatchObject({
      phase: "failed",
      reason: "quota exceeded",
    });
    expect((await cluster.logs(ref)).pod).toBeNull();
  });

  it("crash loops after the container starts, logging why", async () => {
    const { ref } = await provisioned();
    await cluster.setFault(ref, "crash-loop");
    advance(2 * DELAY);
    expect(await cluster.readStatus(ref)).toMatchObject({
      phase: "failed",
      reason: "crash looping",
    });
    expect((await cluster.logs(ref)).lines.at(-1)).toContain("fatal:");
  });

  it("keeps a pending volume starting for ever (the provisioner's deadline fails it)", async () => {
    const { ref } = await provisioned();
    await cluster.setFault(ref, "volume-pending");
    advance(3600_000);
    expect(await cluster.readStatus(ref)).toMatchObject({
      phase: "starting",
      reason: "volume pending",
    });
  });

  it("plays a Secret deleted behind our back: failed until recreateSecret creates it again", async () => {
    const { ref } = await provisioned();
    await cluster.setFault(ref, "secret-missing");
    advance(DELAY);
    const lost = await cluster.readStatus(ref);
    expect(lost).toMatchObject({
      phase: "failed",
      reason: "the app's Secret is missing",
      secretMissing: true,
    });
    expect(lost.events[0]?.message).toBe(`Error: secret "i-${ref.instanceId}" not found`);
    const [listed] = (await cluster.listStatuses({ customerId: ref.customerId })).items;
    expect(listed?.secretMissing).toBe(true);
    // Applying again does not bring it back (the Deployment exists), as on a real cluster.
    await cluster.applyInstance({ ...ref, app: app() });
    expect((await cluster.readStatus(ref)).secretMissing).toBe(true);

    expect(await cluster.recreateSecret({ ...ref, app: app() })).toEqual({ created: true });
    // Created once: a second call finds it there (a 409 on a real cluster).
    expect(await cluster.recreateSecret({ ...ref, app: app() })).toEqual({ created: false });
    advance(3 * DELAY);
    const healed = await cluster.readStatus(ref);
    expect(healed.phase).toBe("running");
    expect(healed.secretMissing).toBeUndefined();
  });

  it("does not take secret-missing from the catalog marker (the repair could never heal it)", async () => {
    const { ref } = await provisioned({ env: { [FAULT_ENV]: "secret-missing" } });
    advance(3 * DELAY);
    expect(await cluster.readStatus(ref)).toMatchObject({ phase: "running" });
    expect(await cluster.recreateSecret({ ...ref, app: app() })).toEqual({ created: false });
  });

  it("heals when the fault is cleared", async () => {
    const { ref } = await provisioned({ env: { [FAULT_ENV]: "quota" } });
    await cluster.setFault(ref, null);
    // The catalog marker still applies: the injected fault only overrides it.
    expect((await cluster.readStatus(ref)).phase).toBe("failed");
    const { ref: healthy } = await provisioned();
    await cluster.setFault(healthy, "quota");
    await cluster.setFault(healthy, null);
    advance(3 * DELAY);
    expect((await cluster.readStatus(healthy)).phase).toBe("running");
  });
});

describe("simulated cluster: delete and list", () => {
  it("deletes the namespace with its last instance only, and deleting twice is fine", async () => {
    const { ref } = await provisioned();
    const second = { customerId: ref.customerId, instanceId: randomUUID() };
    await cluster.applyInstance({ ...second, app: app() });
    expect(await cluster.deleteInstance(ref)).toEqual({ namespaceDeleted: false });
    expect((await cluster.readStatus(ref)).phase).toBe("missing");
    expect(await cluster.deleteInstance(second)).toEqual({ namespaceDeleted: true });
    expect(await cluster.deleteInstance(second)).toEqual({ namespaceDeleted: false });
  });

  it("finds nothing under another customer's id", async () => {
    const { ref } = await provisioned();
    const foreign = { customerId: randomUUID(), instanceId: ref.instanceId };
    expect((await cluster.readStatus(foreign)).phase).toBe("missing");
    await expect(cluster.restart(foreign)).rejects.toMatchObject({ code: "not_found" });
    await cluster.deleteInstance(foreign);
    expect((await cluster.readStatus(ref)).phase).not.toBe("missing");
  });

  it("lists every instance in pages, one call per page", async () => {
    const customerId = randomUUID();
    await cluster.ensureNamespace({ customerId, plans: [] });
    const ids = Array.from({ length: 5 }, () => randomUUID());
    for (const instanceId of ids)
      await cluster.applyInstance({ customerId, instanceId, app: app() });
    const seen: string[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const page = await cluster.listStatuses({ customerId, limit: 2, continue: token });
      expect(page.apiCalls).toBe(1);
      expect(page.items.every((s) => s.events.length === 0)).toBe(true);
      seen.push(...page.items.map((s) => s.instanceId));
      token = page.continue;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual([...ids].sort());
    await expect(cluster.listStatuses({ continue: "not-a-token" })).rejects.toMatchObject({
      code: "invalid",
    });
  });
});
