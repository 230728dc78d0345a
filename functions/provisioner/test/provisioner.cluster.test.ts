import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type KubernetesObject,
  NetworkingV1Api,
  type V1ManagedFieldsEntry,
} from "@kubernetes/client-node";
import { defaultClusterConfig, FIELD_MANAGER, instanceObjects } from "@minispod/cluster";
import { createKubernetesCluster } from "@minispod/cluster/kubernetes";
import { describeCluster, labKubeConfig, waitFor } from "@minispod/cluster/testing";
import type { SubscriptionStatus } from "@minispod/db";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createApp } from "../src/app";
import type { ProvisionerDeps } from "../src/deps";
import {
  activeSubscription,
  type Catalog,
  deliver,
  emitted,
  instanceRow,
  type ProvisionerTest,
  type Subscribed,
  seedService,
  setSubscriptionStatus,
  setupProvisioner,
  subscriptionEvent,
} from "./helpers";

// The provisioner against a real kube-apiserver with KWOK (scripts/k8s/): every
// object really created, the lifecycle really applied, replays really converging.
const config = {
  ...defaultClusterConfig,
  namespacePrefix: "prov-",
  clusterDomain: "apps.lab.test",
  // A class nobody provisions: a volume stays pending whatever the lab offers.
  storageClassName: "unprovisioned",
};
const LIFECYCLE = [
  "subscription.activated",
  "subscription.expired",
  "subscription.renewed",
  "subscription.cancelled",
  "subscription.purged",
] as const;

describeCluster("provisioner against the lab's API server", () => {
  let t: ProvisionerTest;
  let app: ReturnType<typeof createApp>;
  let kc: KubeConfig;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  let net: NetworkingV1Api;
  const namespaces = new Set<string>();
  // Volumes stay pending (see config): instances that must run are of an app without storage.
  let stateless: Catalog;
  const subscribe = () => activeSubscription(t.h, { service: stateless });

  beforeAll(async () => {
    t = await setupProvisioner();
    stateless = await seedService(t.h.database.db, {
      image: "traefik/whoami",
      imageTag: "v1.10",
      port: 8080,
      storage: null,
      storageMountPath: null,
    });
    kc = labKubeConfig();
    const cluster = createKubernetesCluster({ config, kubeConfig: kc });
    const deps: ProvisionerDeps = { ...t.deps, cluster };
    app = createApp(deps);
    apps = kc.makeApiClient(AppsV1Api);
    core = kc.makeApiClient(CoreV1Api);
    net = kc.makeApiClient(NetworkingV1Api);
  });

  afterAll(async () => {
    // Namespace deletion takes the namespace controller 16-35 s: start it, don't wait.
    await Promise.all(
      [...namespaces].map((name) => core.deleteNamespace({ name }).catch(() => undefined)),
    );
    await t.h.close();
  });

  const objectsOf = (s: Subscribed) => {
    const objects = instanceObjects(config, { customerId: s.user.id, instanceId: s.instanceId });
    namespaces.add(objects.namespace);
    return objects;
  };
  const send = async (s: Subscribed, type: (typeof LIFECYCLE)[number]) => {
    const response = await deliver(app, subscriptionEvent(type, s));
    expect(response.status).toBe(200);
  };
  const moveTo = (s: Subscribed, status: SubscriptionStatus) =>
    setSubscriptionStatus(t.h.database.db, s.subscriptionId, status);
  const sweepUntil = (s: Subscribed, status: string) =>
    waitFor(`instance ${status}`, async () => {
      const response = await app.request("/cron/reconcile", { method: "POST" });
      expect(response.status).toBe(200);
      const row = await instanceRow(t.h.database.db, s.instanceId);
      return row.status === status ? row : undefined;
    });
  const deploymentOf = (s: Subscribed) => {
    const { name, namespace } = objectsOf(s);
    return apps.readNamespacedDeployment({ name, namespace });
  };
  const gone = async (read: () => Promise<unknown>) =>
    read().then(
      () => false,
      (error: { code?: number }) => error.code === 404,
    );

  /** What our field manager owns of every object of the instance and its namespace. */
  const snapshot = async (s: Subscribed) => {
    const { name, namespace } = objectsOf(s);
    const objects: KubernetesObject[] = [
      await core.readNamespace({ name: namespace }),
      await apps.readNamespacedDeployment({ name, namespace }),
      await core.readNamespacedService({ name, namespace }),
      await net.readNamespacedIngress({ name, namespace }),
      await core.readNamespacedResourceQuota({ name: "plans", namespace }),
      await core.readNamespacedLimitRange({ name: "plans", namespace }),
      ...(await net.listNamespacedNetworkPolicy({ namespace })).items,
    ];
    return objects.map((o) => ({
      name: `${o.kind ?? ""}/${o.metadata?.name}`,
      generation: o.metadata?.generation,
      // Ours only: controllers write status under their own managers.
      managed: (o.metadata?.managedFields ?? [])
        .filter((f: V1ManagedFieldsEntry) => f.manager === FIELD_MANAGER)
        .map((f: V1ManagedFieldsEntry) => JSON.stringify(f.fieldsV1)),
    }));
  };

  it("provisions every object, and the sweep records RUNNING once KWOK makes it available", async () => {
    const s = await subscribe();
    await send(s, "subscription.activated");
    const { name, namespace, url } = objectsOf(s);
    const row = await sweepUntil(s, "RUNNING");
    expect(row.url).toBe(url);
    expect(row.namespace).toBe(namespace);

    const deployment = await deploymentOf(s);
    expect(deployment.metadata?.labels).toMatchObject({
      "minispod.dev/customer": s.user.id,
      "minispod.dev/instance": s.instanceId,
    });
    expect(deployment.spec?.replicas).toBe(1);
    await expect(core.readNamespacedService({ name, namespace })).resolves.toBeTruthy();
    const ingress = await net.readNamespacedIngress({ name, namespace });
    expect(ingress.spec?.rules?.[0]?.host).toBe(`i-${s.instanceId}.apps.lab.test`);
    const quota = await core.readNamespacedResourceQuota({ name: "plans", namespace });
    expect(quota.spec?.hard?.["requests.cpu"]).toBeDefined();
    expect((await emitted(t.h.database.db, s.instanceId)).sort()).toEqual([
      "instance.provisioning",
      "instance.running",
    ]);
  });

  it("reports a volume that cannot be bound as pending, and keeps it while suspended", async () => {
    const s = await activeSubscription(t.h);
    await send(s, "subscription.activated");
    const { name, namespace } = objectsOf(s);
    const pvc = await core.readNamespacedPersistentVolumeClaim({ name, namespace });
    expect(pvc.spec?.resources?.requests?.storage).toBe("1Gi");
    await waitFor(
      "volume pending on the timeline",
      async () => {
        const row = await instanceRow(t.h.database.db, s.instanceId);
        if (row.lastError === "volume pending") return row;
        await app.request("/cron/reconcile", { method: "POST" });
        return undefined;
      },
      { timeoutMs: 15_000 },
    );
    await moveTo(s, "EXPIRED");
    await send(s, "subscription.expired");
    expect((await deploymentOf(s)).spec?.replicas).toBe(0);
    await expect(
      core.readNamespacedPersistentVolumeClaim({ name, namespace }),
    ).resolves.toBeTruthy();
  });

  it("suspends to zero replicas, resumes, then deletes everything", async () => {
    const s = await subscribe();
    await send(s, "subscription.activated");
    await sweepUntil(s, "RUNNING");
    const { name, namespace } = objectsOf(s);

    await moveTo(s, "EXPIRED");
    await send(s, "subscription.expired");
    expect((await instanceRow(t.h.database.db, s.instanceId)).status).toBe("SUSPENDED");
    expect((await deploymentOf(s)).spec?.replicas).toBe(0);
    await expect(core.readNamespacedService({ name, namespace })).resolves.toBeTruthy();

    await moveTo(s, "ACTIVE");
    await send(s, "subscription.renewed");
    expect((await deploymentOf(s)).spec?.replicas).toBe(1);
    await sweepUntil(s, "RUNNING");

    await moveTo(s, "CANCELLED");
    await send(s, "subscription.cancelled");
    expect((await instanceRow(t.h.database.db, s.instanceId)).status).toBe("DELETED");
    expect(await gone(() => deploymentOf(s))).toBe(true);
    expect(await gone(() => core.readNamespacedService({ name, namespace }))).toBe(true);
    // The customer's last instance: the namespace goes too (terminating or already gone).
    const ns = await core.readNamespace({ name: namespace }).catch(() => undefined);
    expect(ns === undefined || ns.status?.phase === "Terminating").toBe(true);
  });

  it("leaves the cluster exactly as one delivery did after every event twice, out of order", async () => {
    const s = await subscribe();
    await send(s, "subscription.activated");
    await sweepUntil(s, "RUNNING");
    const before = await snapshot(s);
    const eventsBefore = await emitted(t.h.database.db, s.instanceId);

    const replay = [...LIFECYCLE, ...LIFECYCLE].reverse();
    replay.push(replay.shift()!);
    for (const type of replay) await send(s, type);

    expect(await snapshot(s)).toEqual(before);
    expect((await deploymentOf(s)).spec?.replicas).toBe(1);
    expect(await emitted(t.h.database.db, s.instanceId)).toEqual(eventsBefore);
  });

  it("never brings a cancelled instance back, whatever arrives after", async () => {
    const s = await subscribe();
    await send(s, "subscription.activated");
    await moveTo(s, "CANCELLED");
    await send(s, "subscription.cancelled");
    for (const type of [...LIFECYCLE, ...LIFECYCLE].reverse()) await send(s, type);
    expect(await gone(() => deploymentOf(s))).toBe(true);
    expect((await instanceRow(t.h.database.db, s.instanceId)).status).toBe("DELETED");
  });
});
