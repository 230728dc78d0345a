import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type KubernetesObject,
  NetworkingV1Api,
  type V1ManagedFieldsEntry,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { defaultClusterConfig } from "../src/config";
import { createKubernetesCluster, type KubernetesCluster } from "../src/kubernetes";
import { instanceManifests, namespaceManifests, secretManifest } from "../src/manifests";
import { FIELD_MANAGER, instanceObjects, namespaceName } from "../src/names";
import type { InstanceSpec } from "../src/port";
import { describeCluster, labKubeConfig, uniqueId, waitFor } from "../src/testing";
import { demoApps, statelessApp } from "./fixtures";

const config = { ...defaultClusterConfig, namespacePrefix: "t-", clusterDomain: "apps.lab.test" };

describeCluster("kubernetes driver against the lab's API server", () => {
  let kc: KubeConfig;
  let cluster: KubernetesCluster;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  let net: NetworkingV1Api;
  const customers: string[] = [];
  const newCustomer = () => {
    const id = uniqueId();
    customers.push(id);
    return id;
  };

  beforeAll(() => {
    kc = labKubeConfig();
    cluster = createKubernetesCluster({ config, kubeConfig: kc });
    apps = kc.makeApiClient(AppsV1Api);
    core = kc.makeApiClient(CoreV1Api);
    net = kc.makeApiClient(NetworkingV1Api);
  });

  afterAll(async () => {
    // Namespace deletion takes the namespace controller 16-35 s: start it, don't wait.
    await Promise.all(
      customers.map((id) =>
        core.deleteNamespace({ name: namespaceName(config, id) }).catch(() => undefined),
      ),
    );
  });

  it("creates the hardened namespace and reads every piece back", async () => {
    const customerId = newCustomer();
    const namespace = namespaceName(config, customerId);
    const plans = [demoApps[0]!.resources, demoApps[1]!.resources];
    await expect(cluster.ensureNamespace({ customerId, plans })).resolves.toEqual({ namespace });

    const ns = await core.readNamespace({ name: namespace });
    expect(ns.metadata?.labels).toMatchObject({
      "minispod.dev/customer": customerId,
      "pod-security.kubernetes.io/enforce": "restricted",
    });
    const quota = await core.readNamespacedResourceQuota({ name: "plans", namespace });
    expect(quota.spec?.hard?.["requests.cpu"]).toBe("1250m");
    expect(quota.spec?.hard?.["requests.storage"]).toBe("6Gi");
    const limits = await core.readNamespacedLimitRange({ name: "plans", namespace });
    expect(limits.spec?.limits[0]?.max).toEqual({ cpu: "500m", memory: "512Mi" });
    for (const name of ["workload", "default"]) {
      const sa = await core.readNamespacedServiceAccount({ name, namespace });
      expect(sa.automountServiceAccountToken).toBe(false);
    }
    const policies = await net.listNamespacedNetworkPolicy({ namespace });
    expect(policies.items.map((p) => p.metadata?.name).sort()).toEqual([
      "allow-dns",
      "allow-ingress-controller",
      "allow-internet",
      "default-deny",
    ]);
  });

  it("applies every object of an instance; KWOK brings the Deployment to available", async () => {
    const customerId = newCustomer();
    const instanceId = uniqueId();
    await cluster.ensureNamespace({ customerId, plans: [statelessApp.resources] });
    const spec = { customerId, instanceId, app: statelessApp };
    const applied = await cluster.applyInstance(spec);
    expect(applied).toEqual(instanceObjects(config, spec));
    expect(applied.url).toBe(`https://i-${instanceId}.apps.lab.test`);

    const { namespace, name } = applied;
    await expect(core.readNamespacedService({ name, namespace })).resolves.toBeTruthy();
    const ingress = await net.readNamespacedIngress({ name, namespace });
    expect(ingress.spec?.rules?.[0]?.host).toBe(applied.host);
    await expect(core.readNamespacedSecret({ name, namespace })).resolves.toBeTruthy();

    const running = await waitFor("the instance to run", async () => {
      const status = await cluster.readStatus(spec);
      return status.phase === "running" ? status : undefined;
    });
    expect(running).toMatchObject({ reason: "running", replicas: { desired: 1, ready: 1 } });
  });

  it("replays an apply without changing anything (generation and managed fields stay)", async () => {
    const customerId = newCustomer();
    const instanceId = uniqueId();
    const spec: InstanceSpec = { customerId, instanceId, app: demoApps[1]! };
    await cluster.ensureNamespace({ customerId, plans: [spec.app.resources] });
    await cluster.applyInstance(spec);
    const { namespace, name } = instanceObjects(config, spec);

    const snapshot = async () => {
      const objects: KubernetesObject[] = [
        await apps.readNamespacedDeployment({ name, namespace }),
        await core.readNamespacedService({ name, namespace }),
        await net.readNamespacedIngress({ name, namespace }),
        await core.readNamespacedPersistentVolumeClaim({ name, namespace }),
        await core.readNamespacedResourceQuota({ name: "plans", namespace }),
      ];
      return objects.map((o) => ({
        kind: o.kind,
        generation: o.metadata?.generation,
        // Ours only: controllers write status under their own managers during a rollout.
        managed: (o.metadata?.managedFields ?? [])
          .filter((f: V1ManagedFieldsEntry) => f.manager === FIELD_MANAGER)
          .map((f: V1ManagedFieldsEntry) => ({
            operation: f.operation,
            fields: JSON.stringify(f.fieldsV1),
          })),
      }));
    };
    const secretBefore = await core.readNamespacedSecret({ name, namespace });
    const before = await snapshot();
    await cluster.ensureNamespace({ customerId, plans: [spec.app.resources] });
    await cluster.applyInstance(spec);
    await cluster.applyInstance(spec);
    expect(await snapshot()).toEqual(before);
    // Generated passwords are kept, not regenerated by a replay.
    const secretAfter = await core.readNamespacedSecret({ name, namespace });
    expect(secretAfter.data).toEqual(secretBefore.data);
    expect(Object.keys(secretAfter.data ?? {})).toEqual(spec.app.generatedSecrets);
  });

  it("says volume pending while a claim has no volume (the lab has no storage provisioner)", async () => {
    const customerId = newCustomer();
    const spec: InstanceSpec = { customerId, instanceId: uniqueId(), app: demoApps[0]! };
    await cluster.ensureNamespace({ customerId, plans: [spec.app.resources] });
    await cluster.applyInstance(spec);
    const status = await waitFor("volume pending", async () => {
      const s = await cluster.readStatus(spec);
      return s.reason === "volume pending" ? s : undefined;
    });
    expect(status.phase).toBe("starting");
  });

  it("says quota exceeded when the plans leave no room", async () => {
    const customerId = newCustomer();
    const spec: InstanceSpec = { customerId, instanceId: uniqueId(), app: statelessApp };
    // The namespace was sized for a smaller plan than the app asks for.
    await cluster.ensureNamespace({ customerId, plans: [{ cpu: "10m", memory: "8Mi" }] });
    // ...while the LimitRange still admits the app's size, so the quota is what refuses.
    const roomy = namespaceManifests(config, { customerId, plans: [statelessApp.resources] });
    await cluster.applyObjects([roomy.objects[1]!]);
    await cluster.applyInstance(spec);
    const status = await waitFor("quota exceeded", async () => {
      const s = await cluster.readStatus(spec);
      return s.reason === "quota exceeded" ? s : undefined;
    });
    expect(status.phase).toBe("failed");
    expect(status.events.some((e) => e.message === "quota exceeded")).toBe(true);
  });

  it("suspends, resumes, restarts and deletes; the namespace goes with the last instance", async () => {
    const customerId = newCustomer();
    const first: InstanceSpec = { customerId, instanceId: uniqueId(), app: statelessApp };
    const second: InstanceSpec = { customerId, instanceId: uniqueId(), app: statelessApp };
    await cluster.ensureNamespace({
      customerId,
      plans: [statelessApp.resources, statelessApp.resources],
    });
    await cluster.applyInstance(first);
    await cluster.applyInstance(second);
    const phase = (spec: InstanceSpec, want: string) =>
      waitFor(
        `${spec.instanceId} ${want}`,
        async () => (await cluster.readStatus(spec)).phase === want,
      );
    await phase(first, "running");

    await cluster.scaleInstance(first, 0);
    await phase(first, "suspended");
    // Suspended by apply too (a replayed expiry), and the pods are gone.
    await cluster.applyInstance({ ...first, suspended: true });
    const { namespace, name } = instanceObjects(config, first);
    await waitFor("pods gone", async () => {
      const pods = await core.listNamespacedPod({
        namespace,
        labelSelector: `minispod.dev/instance=${first.instanceId}`,
      });
      return pods.items.filter((p) => !p.metadata?.deletionTimestamp).length === 0;
    });

    await cluster.scaleInstance(first, 1);
    await phase(first, "running");

    const { restartedAt } = await cluster.restart(first);
    const restarted = await apps.readNamespacedDeployment({ name, namespace });
    expect(
      restarted.spec?.template.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"],
    ).toBe(restartedAt);
    // Our next apply keeps the restart annotation (another manager owns it).
    await cluster.applyInstance(first);
    const reapplied = await apps.readNamespacedDeployment({ name, namespace });
    expect(
      reapplied.spec?.template.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"],
    ).toBe(restartedAt);

    await expect(cluster.deleteInstance(first)).resolves.toEqual({ namespaceDeleted: false });
    expect((await cluster.readStatus(first)).phase).toBe("missing");
    await expect(core.readNamespacedService({ name, namespace })).rejects.toMatchObject({
      code: 404,
    });
    // Deleting again is not an error.
    await expect(cluster.deleteInstance(first)).resolves.toEqual({ namespaceDeleted: false });

    await expect(cluster.deleteInstance(second)).resolves.toEqual({ namespaceDeleted: true });
    const ns = await core.readNamespace({ name: namespace }).catch(() => null);
    expect(ns === null || ns.status?.phase === "Terminating").toBe(true);
  });

  it("lists statuses page by page: API calls grow with pages, not instances", async () => {
    const customerId = newCustomer();
    const specs = Array.from({ length: 7 }, () => ({
      customerId,
      instanceId: uniqueId(),
      app: statelessApp,
    }));
    await cluster.ensureNamespace({ customerId, plans: specs.map((s) => s.app.resources) });
    await Promise.all(specs.map((s) => cluster.applyInstance(s)));
    await waitFor("all running", async () => {
      const page = await cluster.listStatuses({ customerId, limit: 100 });
      return page.items.length === 7 && page.items.every((i) => i.phase === "running");
    });

    const seen: string[] = [];
    let pages = 0;
    let calls = 0;
    let token: string | null = null;
    do {
      const page = await cluster.listStatuses({ customerId, limit: 3, continue: token });
      seen.push(...page.items.map((i) => i.instanceId));
      calls += page.apiCalls;
      pages++;
      token = page.continue;
    } while (token);
    expect(seen.sort()).toEqual(specs.map((s) => s.instanceId).sort());
    expect(pages).toBe(3);
    expect(calls).toBe(3); // all running: one list per page, no pod reads
  });

  it("accepts every manifest of every demo catalog entry (server-side dry run)", async () => {
    for (const podSecurity of ["restricted", "baseline"] as const) {
      const customerId = newCustomer();
      const apps = demoApps.filter((a) => (a.podSecurity ?? "restricted") === podSecurity);
      await cluster.ensureNamespace({
        customerId,
        plans: apps.map((a) => a.resources),
        podSecurity,
      });
      for (const app of apps) {
        const spec = { customerId, instanceId: uniqueId(), app };
        const objects = [secretManifest(config, spec), ...instanceManifests(config, spec)];
        const answered = await cluster.applyObjects(objects, { dryRun: true });
        expect(answered.map((o) => o.kind)).toEqual(objects.map((o) => o.kind));
      }
      // Dry run stored nothing.
      const left = await apps_list(customerId);
      expect(left).toEqual([]);
    }
  });

  const apps_list = async (customerId: string) =>
    (
      await apps.listNamespacedDeployment({ namespace: namespaceName(config, customerId) })
    ).items.map((d) => d.metadata?.name);

  it("refuses a root pod in a restricted namespace with a typed invalid/forbidden error", async () => {
    const customerId = newCustomer();
    const root = demoApps.find((a) => a.runAsUser === null)!;
    await cluster.ensureNamespace({ customerId, plans: [root.resources] });
    const spec = { customerId, instanceId: uniqueId(), app: root };
    // PodSecurity admission checks Deployments' pod templates with a warning only;
    // pods themselves are refused, which shows as the ReplicaSet's failure.
    await cluster.applyInstance(spec);
    const status = await waitFor("refusal", async () => {
      const s = await cluster.readStatus(spec);
      return s.phase === "failed" ? s : undefined;
    });
    expect(status.reason).toBe("refused by the pod security policy");
  });
});
