import { fileURLToPath } from "node:url";
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { defaultClusterConfig } from "../src/config";
import { createKubernetesCluster } from "../src/kubernetes";
import { namespaceName, volumeName } from "../src/names";
import type { AppSpec } from "../src/port";
import {
  asServiceAccount,
  describeCluster,
  installSnapshotApi,
  LAB_SNAPSHOT_CLASS,
  labKubeConfig,
  startSnapshotController,
  uniqueId,
  waitFor,
} from "../src/testing";

// The backup half of the kubernetes driver with the provisioner's own token:
// what knative/base/provisioner-rbac.yaml grants for VolumeSnapshots, volume
// generations and the preflight is enough, and its admission policy keeps
// VolumeSnapshots inside customer namespaces.
const rbacFile = fileURLToPath(
  new URL("../../../knative/base/provisioner-rbac.yaml", import.meta.url),
);
const config = {
  ...defaultClusterConfig,
  namespacePrefix: "t-snap-",
  storageClassName: "kwok-volume",
};
const app: AppSpec = {
  slug: "whoami",
  image: "traefik/whoami",
  imageTag: "v1.10",
  port: 8080,
  resources: { cpu: "100m", memory: "64Mi", storage: "1Gi", storageMountPath: "/data" },
};

describeCluster("backups with the provisioner's RBAC (VolumeSnapshots, volume generations)", () => {
  let admin: KubeConfig;
  let asProvisioner: KubeConfig;
  let stopController: () => Promise<void>;
  const customers: string[] = [];

  beforeAll(async () => {
    admin = labKubeConfig();
    await installSnapshotApi(admin);
    asProvisioner = await asServiceAccount(admin, rbacFile, "provisioner");
    stopController = startSnapshotController(admin);
  }, 120_000);

  afterAll(async () => {
    await stopController?.();
    const core = admin.makeApiClient(CoreV1Api);
    await Promise.all(
      customers.map((id) =>
        core.deleteNamespace({ name: namespaceName(config, id) }).catch(() => null),
      ),
    );
  });

  it("backs up, restores into a new volume generation and cleans up, with only its own permissions", async () => {
    const cluster = createKubernetesCluster({ config, kubeConfig: asProvisioner });
    const customerId = uniqueId();
    customers.push(customerId);
    const ref = { customerId, instanceId: uniqueId() };
    const support = await cluster.snapshotSupport();
    expect(support).toMatchObject({ supported: true, snapshotClass: LAB_SNAPSHOT_CLASS });
    await cluster.ensureNamespace({ customerId, plans: [app.resources, app.resources] });
    await cluster.applyInstance({ ...ref, app });
    const snap = { ...ref, name: `b-${uniqueId()}` };
    await cluster.createSnapshot({
      ...snap,
      volumeGeneration: 0,
      snapshotClass: support.snapshotClass,
    });
    await cluster.createSnapshot({
      ...snap,
      volumeGeneration: 0,
      snapshotClass: support.snapshotClass,
    });
    const ready = await waitFor("snapshot ready", async () => {
      const s = await cluster.readSnapshot(snap);
      return s.phase === "ready" ? s : undefined;
    });
    expect(ready.sizeBytes).toBe(2 ** 30);
    await cluster.applyInstance({
      ...ref,
      app,
      suspended: true,
      volume: { generation: 1, dataSource: snap.name },
    });
    // pvc-protection holds the claim a moment; deleting again reports it gone, without a read.
    await waitFor("generation 0 gone", async () => (await cluster.deleteVolume(ref, 0)).gone);
    const left = await admin
      .makeApiClient(CoreV1Api)
      .readNamespacedPersistentVolumeClaim({
        namespace: namespaceName(config, customerId),
        name: volumeName(ref.instanceId, 0),
      })
      .catch(() => undefined);
    expect(left).toBeUndefined();
    // The instance goes, every generation with it; the snapshot keeps the namespace.
    await expect(cluster.deleteInstance(ref)).resolves.toEqual({ namespaceDeleted: false });
    const core = admin.makeApiClient(CoreV1Api);
    const claims = await core.listNamespacedPersistentVolumeClaim({
      namespace: namespaceName(config, customerId),
    });
    expect(
      claims.items.filter(
        (c) => c.metadata?.name === volumeName(ref.instanceId, 1) && !c.metadata?.deletionTimestamp,
      ),
    ).toEqual([]);
    await cluster.deleteSnapshot(snap);
    await waitFor(
      "snapshot gone",
      async () => (await cluster.readSnapshot(snap)).phase === "missing",
    );
    await expect(cluster.deleteNamespaceIfEmpty(customerId)).resolves.toEqual({
      namespaceDeleted: true,
    });
  });

  it("is refused VolumeSnapshots outside customer namespaces (admission policy)", async () => {
    const custom = asProvisioner.makeApiClient(CustomObjectsApi);
    const code = await custom
      .createNamespacedCustomObject({
        group: "snapshot.storage.k8s.io",
        version: "v1",
        namespace: "default",
        plural: "volumesnapshots",
        body: {
          apiVersion: "snapshot.storage.k8s.io/v1",
          kind: "VolumeSnapshot",
          metadata: { name: `steal-${uniqueId()}` },
          spec: { source: { persistentVolumeClaimName: "someone-elses" } },
        },
      })
      .then(
        () => 201,
        (e: unknown) => (e instanceof ApiException ? e.code : -1),
      );
    expect([403, 422]).toContain(code);
  });
});
