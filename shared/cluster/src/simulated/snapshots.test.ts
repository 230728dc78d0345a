import { randomUUID } from "node:crypto";
import { type Database, simulatedVolumes } from "@minispod/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultClusterConfig } from "../config";
import { type AppSpec, isClusterError } from "../port";
import { createSimulatedCluster, type SimulatedCluster } from "./index";
import { openSimulatedCluster } from "./test-setup";

// Backups on local mode's cluster: snapshots ready after a simulated delay,
// restores into a new volume generation, retained snapshots keep the namespace.
let database: Database;
let close: () => Promise<void>;
const clock = { now: new Date("2026-01-01T00:00:00Z") };
const DELAY = 1000;
let cluster: SimulatedCluster;

const app: AppSpec = {
  slug: "gitea",
  image: "gitea/gitea",
  imageTag: "1.22",
  port: 3000,
  resources: { cpu: "500m", memory: "512Mi", storage: "5Gi", storageMountPath: "/data" },
};

const advance = (ms: number) => {
  clock.now = new Date(clock.now.getTime() + ms);
};

async function provisioned() {
  const ref = { customerId: randomUUID(), instanceId: randomUUID() };
  await cluster.ensureNamespace({ customerId: ref.customerId, plans: [app.resources] });
  await cluster.applyInstance({ ...ref, app });
  return ref;
}

const volumesOf = (instanceId: string) =>
  database.db.select().from(simulatedVolumes).where(eq(simulatedVolumes.instanceId, instanceId));

beforeAll(async () => {
  ({ cluster, database, close } = await openSimulatedCluster({
    delayMs: DELAY,
    now: () => clock.now,
  }));
});
afterAll(() => close());

describe("simulated cluster: snapshots", () => {
  it("supports snapshots by default, and plays local-path (refused) when told to", async () => {
    expect(await cluster.snapshotSupport()).toMatchObject({ supported: true });
    const localPath = createSimulatedCluster({
      db: database.db,
      config: defaultClusterConfig,
      delayMs: DELAY,
      snapshots: false,
    });
    const support = await localPath.snapshotSupport();
    expect(support.supported).toBe(false);
    expect(support.provisioner).toBe("rancher.io/local-path");
    expect(support.reason).toMatch(/cannot take snapshots/);
  });

  it("takes a snapshot that is pending, then ready with the volume's size; a replay changes nothing", async () => {
    const ref = await provisioned();
    const snap = { ...ref, name: `b-${randomUUID()}` };
    await cluster.createSnapshot({ ...snap, volumeGeneration: 0, snapshotClass: null });
    expect(await cluster.readSnapshot(snap)).toMatchObject({ phase: "pending", sizeBytes: null });
    advance(3 * DELAY);
    await cluster.createSnapshot({ ...snap, volumeGeneration: 0, snapshotClass: null });
    expect(await cluster.readSnapshot(snap)).toEqual({
      name: snap.name,
      phase: "ready",
      sizeBytes: 5 * 2 ** 30,
      reason: "ready",
    });
    await cluster.deleteSnapshot(snap);
    await cluster.deleteSnapshot(snap); // gone is not an error
    expect((await cluster.readSnapshot(snap)).phase).toBe("missing");
  });

  it("refuses to snapshot a volume that does not exist", async () => {
    const ref = await provisioned();
    const error = await cluster
      .createSnapshot({ ...ref, name: "b-x", volumeGeneration: 7, snapshotClass: null })
      .catch((e: unknown) => e);
    expect(isClusterError(error, "invalid")).toBe(true);
  });

  it("restores into a new volume generation beside the current one, then drops the old", async () => {
    const ref = await provisioned();
    const snap = { ...ref, name: `b-${randomUUID()}` };
    await cluster.createSnapshot({ ...snap, volumeGeneration: 0, snapshotClass: null });
    await cluster.applyInstance({
      ...ref,
      app,
      suspended: true,
      volume: { generation: 1, dataSource: snap.name },
    });
    const both = await volumesOf(ref.instanceId);
    expect(both.map((v) => [v.name, v.dataSource]).sort()).toEqual([
      [`i-${ref.instanceId}`, null],
      [`i-${ref.instanceId}-g1`, snap.name],
    ]);
    await cluster.deleteVolume(ref, 0);
    expect((await volumesOf(ref.instanceId)).map((v) => v.name)).toEqual([
      `i-${ref.instanceId}-g1`,
    ]);
  });

  it("keeps the namespace while a snapshot is retained, and deletes it once none is left", async () => {
    const ref = await provisioned();
    const snap = { ...ref, name: `b-${randomUUID()}` };
    await cluster.createSnapshot({ ...snap, volumeGeneration: 0, snapshotClass: null });
    expect(await cluster.deleteInstance(ref)).toEqual({ namespaceDeleted: false });
    expect(await volumesOf(ref.instanceId)).toEqual([]);
    expect((await cluster.readSnapshot(snap)).phase).not.toBe("missing");
    await cluster.deleteSnapshot(snap);
    expect(await cluster.deleteNamespaceIfEmpty(ref.customerId)).toEqual({
      namespaceDeleted: true,
    });
    expect(await cluster.deleteNamespaceIfEmpty(ref.customerId)).toEqual({
      namespaceDeleted: false,
    });
  });
});
