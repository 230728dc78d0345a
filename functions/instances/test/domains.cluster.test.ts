import { fileURLToPath } from "node:url";
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { defaultClusterConfig, instanceObjects, placementOf } from "@minispod/cluster";
import { createKubernetesCluster } from "@minispod/cluster/kubernetes";
import { certificateName } from "@minispod/cluster/manifests";
import {
  asServiceAccount,
  describeCluster,
  installLabCrds,
  labKubeConfig,
} from "@minispod/cluster/testing";
import { instanceDomains, serviceInstances } from "@minispod/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createApp } from "../src/app";
import { type InstancesTest, makeInstance, setupInstances } from "./helpers";

// "Check now" of a verified custom domain, by the instances API with its own
// ServiceAccount (knative/base/functions/instances.yaml): it reads the domains
// Ingress and the Certificate the provisioner made, and records ACTIVE once Ready.
const manifest = fileURLToPath(
  new URL("../../../knative/base/functions/instances.yaml", import.meta.url),
);
const ISSUER = "letsencrypt-lab";
const config = { ...defaultClusterConfig, namespacePrefix: "inst-dom-", tlsIssuer: ISSUER };
const CERTS = { group: "cert-manager.io", version: "v1", plural: "certificates" } as const;

describeCluster("custom domains' check now with the instances API's own token", () => {
  let t: InstancesTest;
  let admin: KubeConfig;
  let asInstances: KubeConfig;
  const namespaces: string[] = [];

  beforeAll(async () => {
    admin = labKubeConfig();
    await installLabCrds(admin, "cert-manager-");
    asInstances = await asServiceAccount(admin, manifest, "instances");
    t = await setupInstances();
  }, 180_000);
  afterAll(async () => {
    const core = admin.makeApiClient(CoreV1Api);
    await Promise.all(namespaces.map((name) => core.deleteNamespace({ name }).catch(() => null)));
    await t?.h.close();
  });

  it("reads the route and certificate back: ISSUING, FAILED with cert-manager's reason, ACTIVE once Ready", async () => {
    const made = await makeInstance(t, t.customer);
    const ref = { customerId: made.userId, instanceId: made.id };
    const objects = instanceObjects(config, ref);
    namespaces.push(objects.namespace);
    await t.h.database.db
      .update(serviceInstances)
      .set(placementOf(objects))
      .where(eq(serviceInstances.id, made.id));
    // What the provisioner did: the instance and its verified domain in the cluster.
    const adminCluster = createKubernetesCluster({ config, kubeConfig: admin });
    await adminCluster.ensureNamespace({
      customerId: ref.customerId,
      plans: [{ cpu: "10m", memory: "16Mi" }],
    });
    await adminCluster.applyInstance({
      ...ref,
      app: {
        slug: "whoami",
        image: "traefik/whoami",
        imageTag: "v1.10",
        port: 8080,
        resources: { cpu: "10m", memory: "16Mi" },
      },
    });
    const domain = "shop.example.net";
    await adminCluster.setInstanceDomains(ref, [domain]);
    const [claim] = await t.h.database.db
      .insert(instanceDomains)
      .values({
        instanceId: made.id,
        userId: made.userId,
        domain,
        token: "tok",
        state: "ISSUING",
        verifiedAt: new Date(),
      })
      .returning();

    const app = createApp({
      ...t.deps,
      cluster: createKubernetesCluster({ config, kubeConfig: asInstances }),
    });
    const check = async () => {
      const response = await app.request(
        `/api/v1/instances/${made.id}/domains/${claim!.id}/verify`,
        { method: "POST", headers: t.h.bearer(t.customer) },
      );
      expect(response.status, await response.clone().text()).toBe(200);
      return (await response.json()) as { state: string; reason: string };
    };
    expect(await check()).toMatchObject({
      state: "ISSUING",
      reason: "waiting for the certificate authority",
    });

    const custom = admin.makeApiClient(CustomObjectsApi);
    const name = certificateName(ref, domain);
    const cert = (await custom.getNamespacedCustomObject({
      ...CERTS,
      namespace: objects.namespace,
      name,
    })) as KubernetesObject;
    await custom.replaceNamespacedCustomObjectStatus({
      ...CERTS,
      namespace: objects.namespace,
      name,
      body: {
        ...cert,
        status: {
          conditions: [
            {
              type: "Issuing",
              status: "False",
              reason: "Failed",
              message:
                "the ACME server could not reach http://shop.example.net/.well-known/acme-challenge",
              lastTransitionTime: new Date().toISOString(),
            },
          ],
          failedIssuanceAttempts: 1,
        },
      },
    });
    const failed = await check();
    expect(failed.state).toBe("FAILED");
    expect(failed.reason).toContain(
      "the certificate could not be issued: the ACME server could not reach",
    );

    const again = (await custom.getNamespacedCustomObject({
      ...CERTS,
      namespace: objects.namespace,
      name,
    })) as KubernetesObject;
    await custom.replaceNamespacedCustomObjectStatus({
      ...CERTS,
      namespace: objects.namespace,
      name,
      body: {
        ...again,
        status: {
          conditions: [
            {
              type: "Ready",
              status: "True",
              reason: "Ready",
              message: "Certificate is up to date and has not expired",
              lastTransitionTime: new Date().toISOString(),
            },
          ],
        },
      },
    });
    expect(await check()).toMatchObject({
      state: "ACTIVE",
      reason: "serving with its certificate",
    });
  }, 120_000);
});
