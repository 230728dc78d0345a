import { randomUUID } from "node:crypto";
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import {
  type AppSpec,
  defaultClusterConfig,
  instanceObjects,
  placementOf,
} from "@minispod/cluster";
import { createKubernetesCluster, type KubernetesCluster } from "@minispod/cluster/kubernetes";
import { describeCluster, labKubeConfig, waitFor } from "@minispod/cluster/testing";
import {
  instanceStatusEvents,
  serviceCatalog,
  serviceInstances,
  subscriptions,
} from "@minispod/db";
import type { AppEnv } from "@minispod/shared";
import type { Hono } from "hono";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createApp } from "../src/app";
import { type InstancesTest, setupInstances } from "./helpers";

// The instances API reading and restarting real workloads (lab with KWOK).
const config = {
  ...defaultClusterConfig,
  namespacePrefix: "inst-",
  clusterDomain: "apps.lab.test",
};
const app: AppSpec = {
  slug: "whoami",
  image: "traefik/whoami",
  imageTag: "v1.10",
  port: 8080,
  resources: { cpu: "10m", memory: "16Mi" },
};

describeCluster("instances API against the lab's API server", () => {
  let t: InstancesTest;
  let api: Hono<AppEnv>;
  let cluster: KubernetesCluster;
  const namespaces: string[] = [];
  let id: string;

  beforeAll(async () => {
    t = await setupInstances();
    const kc = labKubeConfig();
    cluster = createKubernetesCluster({ config, kubeConfig: kc });
    api = createApp({ ...t.deps, cluster });
    // A running instance of t.customer, as the provisioner leaves it.
    const db = t.h.database.db;
    const [service] = await db
      .insert(serviceCatalog)
      .values({
        slug: `whoami-${randomUUID().slice(0, 8)}`,
        name: "whoami",
        image: app.image,
        imageTag: app.imageTag,
        port: app.port,
        cpu: "10m",
        memory: "16Mi",
        priceMinor: 100,
        currency: "EUR",
      })
      .returning();
    const now = new Date();
    const [subscription] = await db
      .insert(subscriptions)
      .values({
        userId: t.customer.id,
        serviceId: service!.id,
        status: "ACTIVE",
        currentPeriodStart: now,
        currentPeriodEnd: new Date(now.getTime() + 86_400_000),
        exclusive: false,
      })
      .returning();
    id = randomUUID();
    const ref = { customerId: t.customer.id, instanceId: id };
    const objects = instanceObjects(config, ref);
    namespaces.push(objects.namespace);
    await db.insert(serviceInstances).values({
      id,
      subscriptionId: subscription!.id,
      ...placementOf(objects),
      status: "PROVISIONING",
    });
    await db
      .insert(instanceStatusEvents)
      .values({ instanceId: id, status: "PROVISIONING", message: "Creating the workload." });
    await cluster.ensureNamespace({ customerId: t.customer.id, plans: [app.resources] });
    await cluster.applyInstance({ ...ref, app });
  });

  afterAll(async () => {
    const core = labKubeConfig().makeApiClient(CoreV1Api);
    await Promise.all(namespaces.map((name) => core.deleteNamespace({ name }).catch(() => 0)));
    await t.h.close();
  });

  const get = (path: string) => api.request(path, { headers: t.h.bearer(t.customer) });

  it("shows the live status and records RUNNING once the Deployment is available", async () => {
    const shown = await waitFor("RUNNING", async () => {
      const body = (await (await get(`/api/v1/instances/${id}`)).json()) as {
        status: string;
        live: { phase: string; events: unknown[] } | null;
      };
      return body.status === "RUNNING" ? body : undefined;
    });
    expect(shown.live?.phase).toBe("running");
    expect(shown.live?.events.length).toBeGreaterThan(0);
  });

  it("reads the pod's logs through the API server", async () => {
    const logs = await waitFor("a pod with logs", async () => {
      const response = await get(`/api/v1/instances/${id}/logs?tail=5`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { pod: string | null; lines: string[] };
      return body.pod ? body : undefined;
    });
    expect(logs.pod).toMatch(new RegExp(`^i-${id}-`));
    expect(logs.lines.length).toBeLessThanOrEqual(5);
  });

  it("restarts with a rollout (the Deployment's restartedAt annotation)", async () => {
    const response = await api.request(`/api/v1/instances/${id}/restart`, {
      method: "POST",
      headers: t.h.bearer(t.customer),
    });
    expect(response.status).toBe(202);
    const { restartedAt } = (await response.json()) as { restartedAt: string };
    const { name, namespace } = instanceObjects(config, {
      customerId: t.customer.id,
      instanceId: id,
    });
    const deployment = await labKubeConfig()
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name, namespace });
    expect(
      deployment.spec?.template.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"],
    ).toBe(restartedAt);
  });

  it("answers 404 to another customer, also against the real cluster", async () => {
    const response = await api.request(`/api/v1/instances/${id}/logs`, {
      headers: t.h.bearer(t.other),
    });
    expect(response.status).toBe(404);
  });
});
