import { randomUUID } from "node:crypto";
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { defaultClusterConfig, instanceObjects } from "@minispod/cluster";
import { createKubernetesCluster } from "@minispod/cluster/kubernetes";
import {
  LAB_VOLUME_DRIVER as DRIVER,
  describeCluster,
  installLabCrds,
  installSnapshotApi,
  labKubeConfig,
  LAB_SNAPSHOT_CLASS as SNAPSHOT_CLASS,
  startSnapshotController,
  waitFor,
} from "@minispod/cluster/testing";
import { backupRestores, backups, instanceVolumes } from "@minispod/db";
import { fullType } from "@minispod/shared";
import { startTestDnsServer, type TestDnsServer } from "@minispod/shared/testing";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createApp } from "../src/app";
import { walkCustomDomain } from "./domain-walk";
import {
  activeSubscription,
  type Catalog,
  deliver,
  instanceRow,
  type ProvisionerTest,
  type Subscribed,
  seedService,
  setupProvisioner,
  subscriptionEvent,
} from "./helpers";

// Backups on a real kube-apiserver with the CSI snapshot CRDs (external-snapshotter
// v8.7.0 from the module proxy). Nothing in the lab takes snapshots, so a small
// controller (startSnapshotController) plays the CSI snapshotter: for every
// VolumeSnapshot it creates the VolumeSnapshotContent and marks it readyToUse with a restoreSize.
// Instance volumes use the lab's StorageClass kwok-volume (KWOK binds its claims).
const config = {
  ...defaultClusterConfig,
  namespacePrefix: "bkp-",
  clusterDomain: "apps.lab.test",
  storageClassName: "kwok-volume",
  tlsIssuer: "letsencrypt-lab",
};
const GROUP = { group: "snapshot.storage.k8s.io", version: "v1" };
const HOLD = "test.minispod.dev/hold";

interface Snapshot {
  metadata: { name: string; namespace: string; uid: string };
  spec: { source: { persistentVolumeClaimName?: string }; volumeSnapshotClassName?: string };
  status?: { readyToUse?: boolean };
}

describeCluster("backups against the lab's API server (CSI VolumeSnapshots)", () => {
  let t: ProvisionerTest;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let custom: CustomObjectsApi;
  let app: ReturnType<typeof createApp>;
  let service: Catalog;
  let stopController: (() => Promise<void>) | undefined;
  let dns: TestDnsServer;
  const namespaces = new Set<string>();
  const held: [namespace: string, name: string][] = [];

  beforeAll(async () => {
    // The same instance also gets a custom domain (cert-manager's CRDs, a DNS server on loopback).
    dns = await startTestDnsServer();
    t = await setupProvisioner({ env: { DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: "500" } });
    kc = labKubeConfig();
    expect(await installLabCrds(kc, "cert-manager-")).toContain("certificates.cert-manager.io");
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    await installSnapshotApi(kc);
    app = createApp({ ...t.deps, cluster: createKubernetesCluster({ config, kubeConfig: kc }) });
    service = await seedService(t.h.database.db, {
      image: "traefik/whoami",
      imageTag: "v1.10",
      port: 8080,
      storage: "1Gi",
      storageMountPath: "/data",
      workload: { backups: { schedule: "daily", keep: 3 } },
    });
    stopController = startSnapshotController(kc);
  }, 120_000);

  afterAll(async () => {
    for (const [namespace, name] of held) await release(namespace, name).catch(() => undefined);
    await stopController?.();
    await dns?.close();
    await Promise.all(
      [...namespaces].map((name) => core.deleteNamespace({ name }).catch(() => undefined)),
    );
    await t.h.close();
  });

  const db = () => t.h.database.db;
  const objectsOf = (s: Subscribed) => {
    const objects = instanceObjects(config, { customerId: s.user.id, instanceId: s.instanceId });
    namespaces.add(objects.namespace);
    return objects;
  };

  async function runningInstance(user?: Subscribed["user"]) {
    const s = await activeSubscription(t.h, { service, ...(user ? { user } : {}) });
    objectsOf(s);
    expect((await deliver(app, subscriptionEvent("subscription.activated", s))).status).toBe(200);
    await waitFor(
      "instance RUNNING",
      async () => {
        await app.request("/cron/reconcile", { method: "POST" });
        const row = await instanceRow(db(), s.instanceId);
        // When time is up, the timeout's message carries why it FAILED.
        if (row.status === "FAILED") throw new Error(`instance FAILED: ${row.lastError}`);
        return row.status === "RUNNING";
      },
      { timeoutMs: 60_000 },
    );
    return s;
  }

  const backupRow = async (id: string) =>
    (await db().select().from(backups).where(eq(backups.id, id)))[0]!;

  async function untilReady(id: string) {
    return waitFor(`backup ${id} READY`, async () => {
      await app.request("/cron/backups", { method: "POST" });
      const row = await backupRow(id);
      expect(row.status).not.toBe("FAILED");
      return row.status === "READY" ? row : undefined;
    });
  }

  /** An on-demand backup as the instances API asks for it: its row, then backup.requested. */
  async function requestBackup(s: Subscribed, to: ReturnType<typeof createApp>) {
    const id = randomUUID();
    await db()
      .insert(backups)
      .values({
        id,
        instanceId: s.instanceId,
        userId: s.user.id,
        kind: "ON_DEMAND",
        snapshotName: `b-${id}`,
      });
    const response = await deliver(to, {
      id: randomUUID(),
      type: fullType("backup.requested"),
      source: "instances",
      subject: id,
      time: new Date().toISOString(),
      data: {
        userId: s.user.id,
        backupId: id,
        instanceId: s.instanceId,
        kind: "ON_DEMAND",
        status: "PENDING",
      },
    });
    return { id, response };
  }

  const claim = (namespace: string, name: string) =>
    core.readNamespacedPersistentVolumeClaim({ namespace, name }).catch(() => undefined);

  const previousGeneration = async (s: Subscribed) =>
    (
      await db().select().from(instanceVolumes).where(eq(instanceVolumes.instanceId, s.instanceId))
    )[0]?.previousGeneration;

  const quotaClaims = async (namespace: string) =>
    (await core.readNamespacedResourceQuota({ namespace, name: "plans" })).spec?.hard
      ?.persistentvolumeclaims;

  /** Takes the test's finalizer off a claim (the others, pvc-protection, stay). */
  async function release(namespace: string, name: string) {
    const held = await claim(namespace, name);
    const finalizers = held?.metadata?.finalizers ?? [];
    const at = finalizers.indexOf(HOLD);
    if (at < 0) return;
    await core.patchNamespacedPersistentVolumeClaim(
      {
        namespace,
        name,
        body: [
          { op: "test", path: `/metadata/finalizers/${at}`, value: HOLD },
          { op: "remove", path: `/metadata/finalizers/${at}` },
        ],
      },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
  }

  async function restore(s: Subscribed, backupId: string, target: Subscribed) {
    const [row] = await db()
      .insert(backupRestores)
      .values({
        backupId,
        targetInstanceId: target.instanceId,
        target: target === s ? "SAME_INSTANCE" : "NEW_INSTANCE",
      })
      .returning();
    const response = await deliver(app, {
      id: randomUUID(),
      type: fullType("backup.restore_requested"),
      source: "instances",
      subject: row!.id,
      time: new Date().toISOString(),
      data: {
        userId: s.user.id,
        restoreId: row!.id,
        backupId,
        instanceId: s.instanceId,
        targetInstanceId: target.instanceId,
        target: row!.target,
      },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { outcome: string };
  }

  it("walks one instance through a scheduled backup, an on-demand one, restores into it and into a new one, and a custom domain", async () => {
    const s = await runningInstance();
    const { namespace, name } = objectsOf(s);

    // Scheduled: the sweep finds it due and creates the VolumeSnapshot of its claim.
    const swept = (await (await app.request("/cron/backups", { method: "POST" })).json()) as {
      scheduled: number;
    };
    expect(swept.scheduled).toBeGreaterThanOrEqual(1);
    const [scheduled] = await db()
      .select()
      .from(backups)
      .where(eq(backups.instanceId, s.instanceId));
    expect(scheduled?.kind).toBe("SCHEDULED");
    const snap = (await custom.getNamespacedCustomObject({
      ...GROUP,
      namespace,
      plural: "volumesnapshots",
      name: scheduled!.snapshotName,
    })) as Snapshot;
    expect(snap.spec.source.persistentVolumeClaimName).toBe(name);
    expect(snap.spec.volumeSnapshotClassName).toBe(SNAPSHOT_CLASS);
    const ready = await untilReady(scheduled!.id);
    expect(ready.sizeBytes).toBe(2 ** 30);

    // On demand: backup.requested, as the instances API emits it.
    const { id, response: requested } = await requestBackup(s, app);
    expect(requested.status).toBe(200);
    await untilReady(id);

    // Restore into the same instance: a new claim from the snapshot, the Deployment switched.
    expect(await restore(s, id, s)).toMatchObject({ outcome: "restored" });
    const restored = await claim(namespace, `${name}-g1`);
    expect(restored?.spec?.dataSource).toEqual({
      apiGroup: "snapshot.storage.k8s.io",
      kind: "VolumeSnapshot",
      name: `b-${id}`,
    });
    const deployment = await apps.readNamespacedDeployment({ namespace, name });
    expect(
      deployment.spec?.template.spec?.volumes?.find((v) => v.name === "data")?.persistentVolumeClaim
        ?.claimName,
    ).toBe(`${name}-g1`);
    // The old claim stays until the instance runs on the new one, then the sweep deletes it.
    expect(await claim(namespace, name)).toBeDefined();
    await waitFor("instance RUNNING on the restored volume", async () => {
      await app.request("/cron/reconcile", { method: "POST" });
      return (await instanceRow(db(), s.instanceId)).status === "RUNNING";
    });
    // A claim stays while something holds it (pvc-protection, while its old pod goes) and the
    // quota counts it meanwhile: a finalizer of the test's own holds it here for as long as needed.
    const finalizers = (await claim(namespace, name))?.metadata?.finalizers;
    await core.patchNamespacedPersistentVolumeClaim(
      {
        namespace,
        name,
        body: finalizers
          ? [{ op: "add", path: "/metadata/finalizers/-", value: HOLD }]
          : [{ op: "add", path: "/metadata/finalizers", value: [HOLD] }],
      },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
    held.push([namespace, name]);
    // First the sweep keeps the replaced data as a PRE_RESTORE backup (a VolumeSnapshot of the
    // old claim), then, once that is ready, deletes the claim.
    await waitFor("the replaced volume copied, then its claim deleted", async () => {
      await app.request("/cron/backups", { method: "POST" });
      return (await claim(namespace, name))?.metadata?.deletionTimestamp !== undefined;
    });
    const [copy] = await db()
      .select()
      .from(backups)
      .where(and(eq(backups.instanceId, s.instanceId), eq(backups.kind, "PRE_RESTORE")));
    expect(copy).toMatchObject({ status: "READY", volumeGeneration: 0 });
    const copied = (await custom.getNamespacedCustomObject({
      ...GROUP,
      namespace,
      plural: "volumesnapshots",
      name: copy!.snapshotName,
    })) as Snapshot;
    expect(copied.spec.source.persistentVolumeClaimName).toBe(name);
    expect(await previousGeneration(s)).toBe(0);
    expect(await quotaClaims(namespace)).toBe("2");

    // Restore into a new instance of the same app (another subscription, same namespace),
    // subscribed while the old claim is still there: the quota has room for all three.
    const fresh = await runningInstance(s.user);
    expect(await quotaClaims(namespace)).toBe("3");
    await release(namespace, name);
    // pvc-protection lets it go once the old pod is gone (slow when the machine is busy).
    await waitFor(
      "previous claim gone, the quota back to one claim per instance",
      async () => {
        await app.request("/cron/backups", { method: "POST" });
        return (await previousGeneration(s)) === null && (await quotaClaims(namespace)) === "2";
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    expect(await claim(namespace, name)).toBeUndefined();
    expect(await restore(s, id, fresh)).toMatchObject({ outcome: "restored" });
    const freshClaim = await claim(namespace, `${objectsOf(fresh).name}-g1`);
    expect(freshClaim?.spec?.dataSource?.name).toBe(`b-${id}`);

    // The same instance, restored and running: a custom domain verified at the DNS server,
    // its Ingress rule and Certificate, ACTIVE once Ready, then removed.
    await walkCustomDomain({
      app,
      db: db(),
      dns,
      admin: kc,
      s,
      ref: { customerId: s.user.id, instanceId: s.instanceId },
      namespace,
      name,
      host: `${name}.apps.lab.test`,
      issuer: config.tlsIssuer,
    });
  }, 240_000);

  it("provisions a new subscription's instance from a snapshot: its first claim's dataSource is the VolumeSnapshot", async () => {
    const s = await runningInstance();
    const { id } = await requestBackup(s, app);
    await untilReady(id);

    // What billing's settlement leaves for `restoreFromBackupId`: generation 0 from the
    // snapshot and a PENDING NEW_INSTANCE restore; then subscription.activated as usual.
    const fresh = await activeSubscription(t.h, { service, user: s.user });
    const { namespace, name } = objectsOf(fresh);
    await db()
      .insert(instanceVolumes)
      .values({ instanceId: fresh.instanceId, generation: 0, sourceSnapshot: `b-${id}` });
    const [restoreRow] = await db()
      .insert(backupRestores)
      .values({ backupId: id, targetInstanceId: fresh.instanceId, target: "NEW_INSTANCE" })
      .returning();
    expect((await deliver(app, subscriptionEvent("subscription.activated", fresh))).status).toBe(
      200,
    );
    // As the API server stores it: one claim, created from the snapshot, never empty.
    const first = await claim(namespace, name);
    expect(first?.spec?.dataSource).toEqual({
      apiGroup: "snapshot.storage.k8s.io",
      kind: "VolumeSnapshot",
      name: `b-${id}`,
    });
    expect(await claim(namespace, `${name}-g1`)).toBeUndefined();
    await waitFor("the new instance RUNNING", async () => {
      await app.request("/cron/reconcile", { method: "POST" });
      return (await instanceRow(db(), fresh.instanceId)).status === "RUNNING";
    });
    const [done] = await db()
      .select()
      .from(backupRestores)
      .where(eq(backupRestores.id, restoreRow!.id));
    expect(done).toMatchObject({ status: "DONE", error: null });
  });

  it("preflight: refuses a storage class without a VolumeSnapshotClass for its driver", async () => {
    const localPath = createKubernetesCluster({
      config: { ...config, storageClassName: "local-path" },
      kubeConfig: kc,
    });
    const support = await localPath.snapshotSupport();
    expect(support).toMatchObject({
      supported: false,
      storageClass: "local-path",
      provisioner: "rancher.io/local-path",
      snapshotClass: null,
    });
    expect(support.reason).toMatch(/cannot take snapshots/);
    const ok = await createKubernetesCluster({ config, kubeConfig: kc }).snapshotSupport();
    expect(ok).toMatchObject({
      supported: true,
      snapshotClass: SNAPSHOT_CLASS,
      provisioner: DRIVER,
    });

    // A backup asked for on such storage fails in plain words; nothing is created.
    const refusing = createApp({ ...t.deps, cluster: localPath });
    const s = await runningInstance();
    const { id } = await requestBackup(s, refusing);
    const row = await backupRow(id);
    expect(row.status).toBe("FAILED");
    expect(row.error).toMatch(/local-path/);
    const snaps = (await custom.listNamespacedCustomObject({
      ...GROUP,
      namespace: objectsOf(s).namespace,
      plural: "volumesnapshots",
    })) as { items: unknown[] };
    expect(snaps.items.filter((x) => (x as Snapshot).metadata.name === `b-${id}`)).toEqual([]);
  });
});
