import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { ApiException, AppsV1Api, CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import {
  type AppSpec,
  defaultClusterConfig,
  instanceObjects,
  namespaceName,
} from "@minispod/cluster";
import { createKubernetesCluster } from "@minispod/cluster/kubernetes";
import {
  asServiceAccount,
  describeCluster,
  installSnapshotApi,
  LAB_SNAPSHOT_CLASS,
  labKubeConfig,
  waitFor,
} from "@minispod/cluster/testing";
import { afterAll, beforeAll, expect, it } from "vitest";

// The instances API's own ServiceAccount (knative/base/functions/instances.yaml),
// used with its own token against the lab: what the API does is allowed, and
// nothing that would let it change or read more than it shows.
const manifest = fileURLToPath(
  new URL("../../../knative/base/functions/instances.yaml", import.meta.url),
);
const config = { ...defaultClusterConfig, namespacePrefix: "inst-rbac-" };
const app: AppSpec = {
  slug: "whoami",
  image: "traefik/whoami",
  imageTag: "v1.10",
  port: 8080,
  resources: { cpu: "10m", memory: "16Mi" },
};
const status = (promise: Promise<unknown>) =>
  promise.then(
    () => 200,
    (e: unknown) => (e instanceof ApiException ? e.code : -1),
  );

describeCluster("the instances API's RBAC with its own token", () => {
  let admin: KubeConfig;
  let asInstances: KubeConfig;
  const ref = { customerId: randomUUID(), instanceId: randomUUID() };

  beforeAll(async () => {
    admin = labKubeConfig();
    const adminCluster = createKubernetesCluster({ config, kubeConfig: admin });
    asInstances = await asServiceAccount(admin, manifest, "instances");
    await adminCluster.ensureNamespace({ customerId: ref.customerId, plans: [app.resources] });
    await adminCluster.applyInstance({ ...ref, app });
  });

  afterAll(async () => {
    await admin
      .makeApiClient(CoreV1Api)
      .deleteNamespace({ name: namespaceName(config, ref.customerId) })
      .catch(() => null);
  });

  it("may read status and logs and restart, through the driver", async () => {
    const cluster = createKubernetesCluster({ config, kubeConfig: asInstances });
    const running = await waitFor("running", async () => {
      const s = await cluster.readStatus(ref);
      return s.phase === "running" ? s : undefined;
    });
    expect(running.events.length).toBeGreaterThan(0);
    await expect(cluster.logs(ref, { tailLines: 5 })).resolves.toBeDefined();
    await expect(cluster.restart(ref)).resolves.toHaveProperty("restartedAt");
  });

  it("may run the backups preflight (StorageClasses, VolumeSnapshotClasses), never snapshot itself", async () => {
    await installSnapshotApi(admin);
    const cluster = createKubernetesCluster({
      config: { ...config, storageClassName: "kwok-volume" },
      kubeConfig: asInstances,
    });
    await expect(cluster.snapshotSupport()).resolves.toMatchObject({
      supported: true,
      snapshotClass: LAB_SNAPSHOT_CLASS,
    });
    const localPath = createKubernetesCluster({
      config: { ...config, storageClassName: "local-path" },
      kubeConfig: asInstances,
    });
    await expect(localPath.snapshotSupport()).resolves.toMatchObject({ supported: false });
    await expect(
      cluster.createSnapshot({
        ...ref,
        name: "b-not-mine",
        volumeGeneration: 0,
        snapshotClass: null,
      }),
    ).rejects.toMatchObject({ code: "forbidden" });
  });

  it("may not create, scale away, delete, or read Secrets", async () => {
    const cluster = createKubernetesCluster({
      config,
      kubeConfig: asInstances,
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    });
    await expect(cluster.deleteInstance(ref)).rejects.toMatchObject({ code: "forbidden" });
    await expect(
      cluster.applyInstance({ customerId: ref.customerId, instanceId: randomUUID(), app }),
    ).rejects.toMatchObject({ code: "forbidden" });
    const { name, namespace } = instanceObjects(config, ref);
    const core = asInstances.makeApiClient(CoreV1Api);
    expect(await status(core.readNamespacedSecret({ name, namespace }))).toBe(403);
    expect(await status(core.listNamespacedSecret({ namespace }))).toBe(403);
    expect(await status(core.deleteNamespace({ name: namespace }))).toBe(403);
    const apps = asInstances.makeApiClient(AppsV1Api);
    expect(await status(apps.deleteNamespacedDeployment({ name, namespace }))).toBe(403);
    // The workload is still there, untouched by any of the above.
    expect(
      await status(admin.makeApiClient(AppsV1Api).readNamespacedDeployment({ name, namespace })),
    ).toBe(200);
  });
});
