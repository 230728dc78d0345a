import { randomUUID } from "node:crypto";
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { defaultClusterConfig, instanceObjects } from "@minispod/cluster";
import { createKubernetesCluster } from "@minispod/cluster/kubernetes";
import { describeCluster, labKubeConfig } from "@minispod/cluster/testing";
import { readCredential, rotateCredential } from "@minispod/instances";
import { type CloudEventMessage, developmentKeyring, fullType } from "@minispod/shared";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createApp } from "../src/app";
import {
  activeSubscription,
  deliver,
  type ProvisionerTest,
  type Subscribed,
  seedService,
  setupProvisioner,
  subscriptionEvent,
} from "./helpers";

// A credential rotation handled by the provisioner against the lab's API
// server: the rotated value really lands in the instance's Secret.
const config = { ...defaultClusterConfig, namespacePrefix: "prov-cred-" };
const RESTARTED_AT = "kubectl.kubernetes.io/restartedAt";
const keyring = developmentKeyring();

const decode = (data: Record<string, string> | undefined) =>
  Object.fromEntries(
    Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );

const rotatedEvent = (s: Subscribed, instanceId = s.instanceId): CloudEventMessage => ({
  id: randomUUID(),
  type: fullType("instance.credentials_rotated"),
  source: "instances",
  subject: instanceId,
  time: new Date().toISOString(),
  data: {
    userId: s.user.id,
    instanceId,
    subscriptionId: s.subscriptionId,
    serviceName: s.service.name,
    name: "ADMIN_TOKEN",
    version: 2,
  },
});

describeCluster("provisioner: a credential rotation against the lab's API server", () => {
  let t: ProvisionerTest;
  let app: ReturnType<typeof createApp>;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  const namespaces = new Set<string>();
  const db = () => t.h.database.db;

  beforeAll(async () => {
    t = await setupProvisioner();
    const kc = labKubeConfig();
    app = createApp({ ...t.deps, cluster: createKubernetesCluster({ config, kubeConfig: kc }) });
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
  });

  afterAll(async () => {
    await Promise.all(
      [...namespaces].map((name) => core.deleteNamespace({ name }).catch(() => undefined)),
    );
    await t.h.close();
  });

  async function provisioned() {
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
    const response = await deliver(app, subscriptionEvent("subscription.activated", s));
    expect(response.status).toBe(200);
    const objects = instanceObjects(config, { customerId: s.user.id, instanceId: s.instanceId });
    namespaces.add(objects.namespace);
    return { s, ...objects };
  }

  it("writes the rotated value into the stored Secret, keeps the other key, rolls the Deployment", async () => {
    const { s, name, namespace } = await provisioned();
    const first = await readCredential(db(), keyring, s.instanceId, "ADMIN_TOKEN");
    const before = decode((await core.readNamespacedSecret({ name, namespace })).data);
    expect(before.ADMIN_TOKEN).toBe(first);
    expect(before.INTERNAL_KEY).toBeTruthy();

    await rotateCredential(db(), keyring, s.instanceId, "ADMIN_TOKEN", new Date());
    const rotated = await readCredential(db(), keyring, s.instanceId, "ADMIN_TOKEN");
    expect(rotated).not.toBe(first);
    const response = await deliver(app, rotatedEvent(s));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ outcome: "applied" });

    const after = decode((await core.readNamespacedSecret({ name, namespace })).data);
    expect(after).toEqual({ ...before, ADMIN_TOKEN: rotated });
    const deployment = await apps.readNamespacedDeployment({ name, namespace });
    const restartedAt = deployment.spec?.template?.metadata?.annotations?.[RESTARTED_AT];
    expect(restartedAt).toBeTruthy();

    // A replayed event writes the same (newest) value again.
    const replay = await deliver(app, rotatedEvent(s));
    expect(await replay.json()).toEqual({ outcome: "applied" });
    expect(decode((await core.readNamespacedSecret({ name, namespace })).data)).toEqual(after);
  });

  it("answers nothing-to-do, without creating a partial Secret, when the Secret is gone from the cluster", async () => {
    const { s, name, namespace } = await provisioned();
    await core.deleteNamespacedSecret({ name, namespace });
    await rotateCredential(db(), keyring, s.instanceId, "ADMIN_TOKEN", new Date());
    const response = await deliver(app, rotatedEvent(s));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ outcome: "nothing-to-do" });
    // The patch did not create a half Secret with only the rotated key.
    const code = await core.readNamespacedSecret({ name, namespace }).then(
      () => 200,
      (e: { code?: number }) => e.code,
    );
    expect(code).toBe(404);
  });
});
