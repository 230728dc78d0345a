import { randomUUID } from "node:crypto";
import { CoreV1Api } from "@kubernetes/client-node";
import { defaultClusterConfig, namespaceName } from "@minispod/cluster";
import { createKubernetesCluster } from "@minispod/cluster/kubernetes";
import { instanceManifests, secretManifest } from "@minispod/cluster/manifests";
import { describeCluster, labKubeConfig } from "@minispod/cluster/testing";
import { serviceCatalog } from "@minispod/db";
import { seedDemoCatalog } from "@minispod/fn-catalog";
import { appSpecOf } from "@minispod/instances";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { afterAll, beforeAll, expect, it } from "vitest";

/**
 * Every manifest the provisioner generates from the real demo catalog (as
 * seeded by the catalog function, mapped by the provisioner's appSpecOf) is
 * accepted by the real API server: a server-side dry run in a hardened
 * namespace sized for all of them.
 */
const config = {
  ...defaultClusterConfig,
  namespacePrefix: "demo-",
  clusterDomain: "apps.lab.test",
};

describeCluster("the demo catalog as the provisioner applies it", () => {
  let h: Harness;
  const customers = { restricted: randomUUID(), baseline: randomUUID() };

  beforeAll(async () => {
    h = await createHarness();
    await seedDemoCatalog(h.database.db);
  });
  afterAll(async () => {
    const core = labKubeConfig().makeApiClient(CoreV1Api);
    for (const id of Object.values(customers)) {
      await core.deleteNamespace({ name: namespaceName(config, id) }).catch(() => undefined);
    }
    await h.close();
  });

  it("is accepted object by object, pods included, by the API server (dry run stores nothing)", async () => {
    const cluster = createKubernetesCluster({ config, kubeConfig: labKubeConfig() });
    const rows = await h.database.db.select().from(serviceCatalog);
    expect(rows.map((r) => r.slug).sort()).toEqual(
      ["excalidraw", "gitea", "n8n", "uptime-kuma", "vaultwarden"].sort(),
    );
    const apps = rows.map(appSpecOf);
    expect(apps.find((a) => a.slug === "excalidraw")?.podSecurity).toBe("baseline");
    for (const level of ["restricted", "baseline"] as const) {
      const customerId = customers[level];
      const mine = apps.filter((a) => (a.podSecurity ?? "restricted") === level);
      await cluster.ensureNamespace({
        customerId,
        plans: mine.map((a) => a.resources),
        podSecurity: level,
      });
      for (const app of mine) {
        const spec = { customerId, instanceId: randomUUID(), app };
        const objects = [secretManifest(config, spec), ...instanceManifests(config, spec)];
        const answered = await cluster.applyObjects(objects, { dryRun: true });
        expect(answered.map((o) => o.kind)).toEqual(objects.map((o) => o.kind));
        // Pod Security is enforced on pods, not Deployments: admit the pod it would make.
        const deployment = objects.find((o) => o.kind === "Deployment") as unknown as {
          metadata: { name: string; namespace: string };
          spec: { template: { metadata?: object; spec: object } };
        };
        const pod = {
          apiVersion: "v1",
          kind: "Pod",
          metadata: {
            ...deployment.spec.template.metadata,
            name: deployment.metadata.name,
            namespace: deployment.metadata.namespace,
          },
          spec: deployment.spec.template.spec,
        };
        const [admitted] = await cluster.applyObjects([pod], { dryRun: true });
        expect(admitted?.kind).toBe("Pod");
        expect((await cluster.readStatus(spec)).phase).toBe("missing");
      }
    }
  });
});
