import { fileURLToPath } from "node:url";
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Pod,
} from "@kubernetes/client-node";
import { defaultClusterConfig, instanceObjects } from "@minispod/cluster";
import { createKubernetesCluster, type KubernetesCluster } from "@minispod/cluster/kubernetes";
import {
  asServiceAccount,
  describeCluster,
  labKubeConfig,
  waitFor,
} from "@minispod/cluster/testing";
import { appSpecOf, readCredential } from "@minispod/instances";
import { developmentKeyring } from "@minispod/shared";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createApp } from "../src/app";
import {
  activeSubscription,
  deliver,
  instanceRow,
  type ProvisionerTest,
  seedService,
  setupProvisioner,
  subscriptionEvent,
  timeline,
} from "./helpers";

// The repair of a lost Secret against the lab's API server, done by the
// provisioner with its own ServiceAccount token (which may create Secrets but
// never read them): an admin deletes the instance's Secret, its pod then waits
// with CreateContainerConfigError (KWOK plays the kubelet and never checks
// Secrets, so the test writes that pod status as the kubelet would), and the
// reconcile sweep creates the Secret again with the customer's credential.
const config = { ...defaultClusterConfig, namespacePrefix: "prov-secret-" };
const keyring = developmentKeyring();
const rbacFile = fileURLToPath(
  new URL("../../../knative/base/provisioner-rbac.yaml", import.meta.url),
);

const decode = (data: Record<string, string> | undefined) =>
  Object.fromEntries(
    Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 200,
    (e: unknown) => (e instanceof ApiException ? e.code : -1),
  );

describeCluster("provisioner: a Secret deleted behind its back, repaired by the sweep", () => {
  let t: ProvisionerTest;
  let app: ReturnType<typeof createApp>;
  let admin: KubeConfig;
  let asProvisioner: KubeConfig;
  let provisioner: KubernetesCluster;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  const namespaces = new Set<string>();
  const db = () => t.h.database.db;

  beforeAll(async () => {
    t = await setupProvisioner();
    admin = labKubeConfig();
    core = admin.makeApiClient(CoreV1Api);
    apps = admin.makeApiClient(AppsV1Api);
    asProvisioner = await asServiceAccount(admin, rbacFile, "provisioner");
    provisioner = createKubernetesCluster({ config, kubeConfig: asProvisioner });
    app = createApp({ ...t.deps, cluster: provisioner });
  });

  afterAll(async () => {
    await Promise.all(
      [...namespaces].map((name) => core.deleteNamespace({ name }).catch(() => undefined)),
    );
    await t.h.close();
  });

  const sweep = async () => {
    const response = await app.request("/cron/reconcile", { method: "POST" });
    expect(response.status).toBe(200);
    return (await response.json()) as Record<string, number>;
  };

  /** Writes the instance's pod status as the kubelet would (KWOK does not touch a Running pod). */
  async function setPodStatus(
    namespace: string,
    instanceId: string,
    container: NonNullable<V1Pod["status"]>["containerStatuses"],
    ready: boolean,
  ) {
    await waitFor(
      "the pod status written",
      async () => {
        const pods = await core.listNamespacedPod({
          namespace,
          labelSelector: `minispod.dev/instance=${instanceId}`,
        });
        const pod = pods.items.find((p) => !p.metadata?.deletionTimestamp);
        if (!pod?.metadata?.name) return false;
        const at = new Date();
        const condition = (type: string) => ({
          type,
          status: ready ? "True" : "False",
          lastTransitionTime: at,
          ...(ready ? {} : { reason: "ContainersNotReady" }),
        });
        pod.status = {
          ...pod.status,
          phase: "Running",
          conditions: [
            ...(pod.status?.conditions ?? []).filter(
              (c) => c.type !== "Ready" && c.type !== "ContainersReady",
            ),
            condition("Ready"),
            condition("ContainersReady"),
          ],
          containerStatuses: container,
        };
        // A conflict (KWOK or a controller wrote meanwhile) is tried again.
        await core.replaceNamespacedPodStatus({ name: pod.metadata.name, namespace, body: pod });
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
  }

  it("re-creates it with the customer's current credential, new other values, without reading it", async () => {
    const service = await seedService(db(), {
      name: "Vaultwarden",
      image: "traefik/whoami",
      imageTag: "v1.10",
      port: 8080,
      storage: null,
      storageMountPath: null,
      workload: {
        generatedSecrets: ["ADMIN_TOKEN", "INTERNAL_KEY"],
        credentials: [{ secret: "ADMIN_TOKEN", label: "Admin page token", path: "/admin" }],
      },
    });
    const s = await activeSubscription(t.h, { service });
    expect((await deliver(app, subscriptionEvent("subscription.activated", s))).status).toBe(200);
    const { namespace, name } = instanceObjects(config, {
      customerId: s.user.id,
      instanceId: s.instanceId,
    });
    namespaces.add(namespace);
    await waitFor("RUNNING", async () => {
      await sweep();
      return (await instanceRow(db(), s.instanceId)).status === "RUNNING";
    });
    const before = decode((await core.readNamespacedSecret({ name, namespace })).data);
    const credential = await readCredential(db(), keyring, s.instanceId, "ADMIN_TOKEN");
    expect(before.ADMIN_TOKEN).toBe(credential);

    // An operator's mistake; then the container is started again and cannot be.
    await core.deleteNamespacedSecret({ name, namespace });
    await setPodStatus(
      namespace,
      s.instanceId,
      [
        {
          name: "app",
          image: "traefik/whoami:v1.10",
          imageID: "",
          ready: false,
          restartCount: 1,
          state: {
            waiting: {
              reason: "CreateContainerConfigError",
              message: `secret "${name}" not found`,
            },
          },
        },
      ],
      false,
    );
    // The Deployment controller sees the pod unready: the sweep's listing then reads pods.
    await waitFor("the Deployment unavailable", async () => {
      const d = await apps.readNamespacedDeployment({ name, namespace });
      return (d.status?.availableReplicas ?? 0) === 0;
    });
    const seen = await provisioner.readStatus({ customerId: s.user.id, instanceId: s.instanceId });
    expect(seen).toMatchObject({
      phase: "failed",
      reason: "the app's Secret is missing",
      secretMissing: true,
    });

    const result = await sweep();
    expect(result).toMatchObject({ secretsRecreated: 1, errors: 0 });
    const after = decode((await core.readNamespacedSecret({ name, namespace })).data);
    // The customer's credential is unchanged; the other value was lost, so it is new.
    expect(after.ADMIN_TOKEN).toBe(credential);
    expect(after.INTERNAL_KEY).toMatch(/.{16,}/);
    expect(after.INTERNAL_KEY).not.toBe(before.INTERNAL_KEY);
    expect(Object.keys(after).sort()).toEqual(["ADMIN_TOKEN", "INTERNAL_KEY"]);
    expect((await timeline(db(), s.instanceId)).at(-1)).toBe(
      "PROVISIONING The app's Secret was missing and has been re-created; generated values other than your credentials were regenerated.",
    );

    // A second create (a stale status, a concurrent sweep) is a 409 that keeps the values.
    expect(
      await provisioner.recreateSecret({
        customerId: s.user.id,
        instanceId: s.instanceId,
        app: appSpecOf(service),
        secretValues: { ADMIN_TOKEN: "not-this-one" },
      }),
    ).toEqual({ created: false });
    expect(decode((await core.readNamespacedSecret({ name, namespace })).data)).toEqual(after);

    // The provisioner still cannot read or list Secrets.
    const own = asProvisioner.makeApiClient(CoreV1Api);
    expect(await codeOf(own.readNamespacedSecret({ name, namespace }))).toBe(403);
    expect(await codeOf(own.listNamespacedSecret({ namespace }))).toBe(403);

    // The kubelet finds the Secret on its next try and starts the container.
    await setPodStatus(
      namespace,
      s.instanceId,
      [
        {
          name: "app",
          image: "traefik/whoami:v1.10",
          imageID: "",
          ready: true,
          started: true,
          restartCount: 1,
          state: { running: { startedAt: new Date() } },
        },
      ],
      true,
    );
    await waitFor("RUNNING again", async () => {
      await sweep();
      return (await instanceRow(db(), s.instanceId)).status === "RUNNING";
    });
    expect((await instanceRow(db(), s.instanceId)).lastError).toBeNull();
  });
});
