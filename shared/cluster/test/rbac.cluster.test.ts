import { fileURLToPath } from "node:url";
import {
  ApiException,
  CoreV1Api,
  type KubeConfig,
  RbacAuthorizationV1Api,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { defaultClusterConfig } from "../src/config";
import { createKubernetesCluster } from "../src/kubernetes";
import { instanceObjects, namespaceName } from "../src/names";
import { ClusterError } from "../src/port";
import {
  asServiceAccount,
  describeCluster,
  labKubeConfig,
  tokenKubeConfig,
  uniqueId,
  waitFor,
} from "../src/testing";
import { statelessApp } from "./fixtures";

const rbacFile = fileURLToPath(
  new URL("../../../knative/base/provisioner-rbac.yaml", import.meta.url),
);
const config = { ...defaultClusterConfig, namespacePrefix: "t-rbac-" };

const status = (promise: Promise<unknown>) =>
  promise.then(
    () => 200,
    (e: unknown) => (e instanceof ApiException ? e.code : -1),
  );

describeCluster(
  "the provisioner's RBAC (knative/base/provisioner-rbac.yaml) with its own token",
  () => {
    let admin: KubeConfig;
    let asProvisioner: KubeConfig;
    const customers: string[] = [];

    beforeAll(async () => {
      admin = labKubeConfig();
      asProvisioner = await asServiceAccount(admin, rbacFile, "provisioner");
    });

    afterAll(async () => {
      const core = admin.makeApiClient(CoreV1Api);
      await Promise.all(
        customers.map((id) =>
          core.deleteNamespace({ name: namespaceName(config, id) }).catch(() => null),
        ),
      );
    });

    it("may do everything the provisioner does, through the driver", async () => {
      const cluster = createKubernetesCluster({ config, kubeConfig: asProvisioner });
      const customerId = uniqueId();
      customers.push(customerId);
      const keep = { customerId, instanceId: uniqueId(), app: statelessApp };
      const spec = { customerId, instanceId: uniqueId(), app: statelessApp };
      await cluster.ensureNamespace({
        customerId,
        plans: [statelessApp.resources, statelessApp.resources],
      });
      await cluster.applyInstance(keep);
      await cluster.applyInstance(spec);
      await waitFor("running", async () => (await cluster.readStatus(spec)).phase === "running");
      const page = await cluster.listStatuses({ limit: 50 });
      expect(page.apiCalls).toBeGreaterThanOrEqual(1);
      expect((await cluster.logs(spec, { tailLines: 1 })).lines).toHaveLength(1);
      // Closing egress deletes a NetworkPolicy.
      const closed = createKubernetesCluster({
        config: { ...config, egress: "none" },
        kubeConfig: asProvisioner,
      });
      await closed.ensureNamespace({
        customerId,
        plans: [statelessApp.resources, statelessApp.resources],
      });
      await cluster.scaleInstance(spec, 0);
      await cluster.scaleInstance(spec, 1);
      await cluster.restart(spec);
      await expect(cluster.deleteInstance(spec)).resolves.toEqual({ namespaceDeleted: false });
      await expect(cluster.deleteInstance(keep)).resolves.toEqual({ namespaceDeleted: true });
    });

    it("is refused Secrets (even its own instances'), RBAC, nodes, pods and exec", async () => {
      const core = asProvisioner.makeApiClient(CoreV1Api);
      const rbac = asProvisioner.makeApiClient(RbacAuthorizationV1Api);
      const cluster = createKubernetesCluster({ config, kubeConfig: asProvisioner });
      const customerId = uniqueId();
      customers.push(customerId);
      const spec = { customerId, instanceId: uniqueId(), app: statelessApp };
      await cluster.ensureNamespace({ customerId, plans: [statelessApp.resources] });
      await cluster.applyInstance(spec);
      const { namespace, name } = instanceObjects(config, spec);

      expect(await status(core.readNamespacedSecret({ name, namespace }))).toBe(403);
      expect(await status(core.listNamespacedSecret({ namespace: "kube-system" }))).toBe(403);
      expect(await status(core.listSecretForAllNamespaces())).toBe(403);
      expect(await status(core.listNode())).toBe(403);
      expect(await status(core.listNamespace())).toBe(403);
      expect(await status(rbac.listClusterRole())).toBe(403);
      expect(
        await status(
          rbac.createClusterRoleBinding({
            body: {
              metadata: { name: `escalate-${uniqueId()}` },
              roleRef: {
                apiGroup: "rbac.authorization.k8s.io",
                kind: "ClusterRole",
                name: "cluster-admin",
              },
              subjects: [{ kind: "ServiceAccount", name: "provisioner", namespace: "minispod" }],
            },
          }),
        ),
      ).toBe(403);
      expect(
        await status(
          core.createNamespacedPod({
            namespace,
            body: {
              metadata: { name: "sneaky" },
              spec: { containers: [{ name: "x", image: "busybox" }] },
            },
          }),
        ),
      ).toBe(403);
      expect(await status(core.deleteCollectionNamespacedPod({ namespace }))).toBe(403);
    });

    it("reports a missing permission as a typed forbidden error, not retried", async () => {
      // The default ServiceAccount of minispod holds no permissions at all.
      const core = admin.makeApiClient(CoreV1Api);
      const token = await core.createNamespacedServiceAccountToken({
        name: "default",
        namespace: "minispod",
        body: { spec: { audiences: [], expirationSeconds: 600 } },
      });
      const nobody = createKubernetesCluster({
        config,
        kubeConfig: tokenKubeConfig(admin, token.status?.token ?? ""),
      });
      const error = await nobody
        .ensureNamespace({ customerId: uniqueId(), plans: [] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ClusterError);
      expect(error).toMatchObject({ code: "forbidden", retryable: false, status: 403 });
      // Discovery (allowed to everyone) plus the one refused apply: no retries.
      expect(nobody.requestCount).toBeLessThanOrEqual(2);
    });
  },
);
