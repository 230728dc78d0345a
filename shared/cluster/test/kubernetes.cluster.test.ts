import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type KubernetesObject,
  NetworkingV1Api,
  type V1ManagedFieldsEntry,
  type V1Pod,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { defaultClusterConfig } from "../src/config";
import { createKubernetesCluster, type KubernetesCluster } from "../src/kubernetes";
import {
  deploymentManifest,
  instanceManifests,
  namespaceManifests,
  secretManifest,
} from "../src/manifests";
import {
  FIELD_MANAGER,
  instanceObjects,
  namespaceName,
  SPEC_HASH_ANNOTATION,
  specHash,
} from "../src/names";
import type { InstanceSpec } from "../src/port";
import { describeCluster, labKubeConfig, uniqueId, waitFor } from "../src/testing";
import { demoApps, statelessApp } from "./fixtures";
import { canReach, type Endpoint } from "./network-policy";

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
    // Closing egress later converges too: the internet policy goes.
    const closed = createKubernetesCluster({
      config: { ...config, egress: "none" },
      kubeConfig: kc,
    });
    await closed.ensureNamespace({ customerId, plans });
    const after = await net.listNamespacedNetworkPolicy({ namespace });
    expect(after.items.map((p) => p.metadata?.name).sort()).toEqual([
      "allow-dns",
      "allow-ingress-controller",
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
    // The Deployment says which catalog spec it came from, in reads and in the sweep's list.
    expect(running.specHash).toBe(specHash(statelessApp));
    const deployment = await apps.readNamespacedDeployment({ name, namespace });
    expect(deployment.metadata?.annotations?.[SPEC_HASH_ANNOTATION]).toBe(specHash(statelessApp));
    const listed = await cluster.listStatuses({ customerId });
    expect(listed.items.map((i) => i.specHash)).toEqual([specHash(statelessApp)]);
    // A new image tag is a new hash once applied.
    const newer = { ...statelessApp, imageTag: `${statelessApp.imageTag}-2` };
    expect(specHash(newer)).not.toBe(specHash(statelessApp));
    await cluster.applyInstance({ ...spec, app: newer });
    expect((await cluster.readStatus(spec)).specHash).toBe(specHash(newer));
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
    expect(Object.keys(secretAfter.data ?? {}).sort()).toEqual(
      [...(spec.app.generatedSecrets ?? [])].sort(),
    );
  });

  it("reads an instance's log lines through the API server (KWOK serves them)", async () => {
    const customerId = newCustomer();
    const spec: InstanceSpec = { customerId, instanceId: uniqueId(), app: statelessApp };
    await cluster.ensureNamespace({ customerId, plans: [spec.app.resources] });
    // No pod yet: no lines, no error.
    await expect(cluster.logs(spec)).resolves.toEqual({ pod: null, lines: [] });
    await cluster.applyInstance(spec);
    await waitFor("running", async () => (await cluster.readStatus(spec)).phase === "running");
    const logs = await cluster.logs(spec, { tailLines: 2 });
    expect(logs.pod).toMatch(new RegExp(`^i-${spec.instanceId}-`));
    expect(logs.lines).toEqual(["minispod lab: listening", "minispod lab: ready"]);
  });

  it("runs an app with a volume: the claim is bound (KWOK's volume stages) and mounted", async () => {
    const customerId = newCustomer();
    const spec: InstanceSpec = { customerId, instanceId: uniqueId(), app: demoApps[0]! };
    await cluster.ensureNamespace({ customerId, plans: [spec.app.resources] });
    await cluster.applyInstance(spec);
    await waitFor("running", async () => (await cluster.readStatus(spec)).phase === "running");
    const { namespace, name } = instanceObjects(config, spec);
    const pvc = await core.readNamespacedPersistentVolumeClaim({ name, namespace });
    expect(pvc.status?.phase).toBe("Bound");
    expect(pvc.spec?.resources?.requests?.storage).toBe("1Gi");
  });

  it("says volume pending while a claim finds no volume", async () => {
    const customerId = newCustomer();
    const spec: InstanceSpec = { customerId, instanceId: uniqueId(), app: demoApps[0]! };
    // A StorageClass nobody provisions: the claim waits, as with a broken provisioner.
    const noVolumes = createKubernetesCluster({
      config: { ...config, storageClassName: "nobody-provisions-this" },
      kubeConfig: kc,
    });
    await noVolumes.ensureNamespace({ customerId, plans: [spec.app.resources] });
    await noVolumes.applyInstance(spec);
    const status = await waitFor("volume pending", async () => {
      const s = await cluster.readStatus(spec);
      return s.reason === "volume pending" ? s : undefined;
    });
    expect(status.phase).toBe("starting");
    // The sweep says the same, reading the pods of its unsettled instances in one request.
    const page = await cluster.listStatuses({ customerId });
    expect(page.items).toMatchObject([{ instanceId: spec.instanceId, reason: "volume pending" }]);
    expect(page.apiCalls).toBe(2);
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
        // PodSecurity only warns about a Deployment's template; the pod it would
        // create is what admission (PodSecurity, LimitRange, quota) accepts or refuses.
        const deployment = deploymentManifest(config, spec);
        const pod: V1Pod = {
          apiVersion: "v1",
          kind: "Pod",
          metadata: {
            name: `${deployment.metadata?.name}-dry-run`,
            namespace: deployment.metadata?.namespace,
            ...deployment.spec?.template.metadata,
          },
          spec: deployment.spec?.template.spec,
        };
        const answered = await cluster.applyObjects([...objects, pod], { dryRun: true });
        expect(answered.map((o) => o.kind)).toEqual([...objects, pod].map((o) => o.kind));
      }
      if (podSecurity === "restricted") {
        // The same dry run refuses what the namespace must not run: a root pod.
        const root = { customerId, instanceId: uniqueId(), app: { ...apps[0]!, runAsUser: null } };
        const d = deploymentManifest(config, root);
        const refused = await cluster
          .applyObjects(
            [
              {
                apiVersion: "v1",
                kind: "Pod",
                metadata: { name: "root-dry-run", namespace: d.metadata?.namespace },
                spec: d.spec?.template.spec,
              } as V1Pod,
            ],
            { dryRun: true },
          )
          .catch((e: unknown) => e);
        // Refused by admission, not by RBAC: "invalid", not "forbidden".
        expect(refused).toMatchObject({ code: "invalid", status: 403, retryable: false });
        expect(String((refused as Error).message)).toMatch(/violates PodSecurity/);
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

  it("keeps customers apart: the policies read back let no namespace reach another's", async () => {
    const [a, b] = [newCustomer(), newCustomer()];
    for (const customerId of [a, b])
      await cluster.ensureNamespace({ customerId, plans: [statelessApp.resources] });
    const read = async (customerId: string) => {
      const namespace = namespaceName(config, customerId);
      const ns = await core.readNamespace({ name: namespace });
      const policies = (await net.listNamespacedNetworkPolicy({ namespace })).items;
      return { policies, labels: ns.metadata?.labels ?? {} };
    };
    const [nsA, nsB] = [await read(a), await read(b)];
    const pod = (labels: Record<string, string>, ip: string, port = 8080): Endpoint => ({
      namespaceLabels: labels,
      podLabels: { "minispod.dev/instance": uniqueId() },
      ip,
      port,
    });
    const podA = pod(nsA.labels, "10.42.0.10");
    const podB = pod(nsB.labels, "10.42.1.20");
    const otherPodA = pod(nsA.labels, "10.42.0.11");
    const traefik: Endpoint = {
      namespaceLabels: { "kubernetes.io/metadata.name": "kube-system" },
      podLabels: { "app.kubernetes.io/name": "traefik" },
      ip: "10.42.0.2",
      port: 8000,
    };
    const dns: Endpoint = {
      namespaceLabels: { "kubernetes.io/metadata.name": "kube-system" },
      podLabels: { "k8s-app": "kube-dns" },
      ip: "10.42.0.3",
      port: 53,
      protocol: "UDP",
    };
    const outside = (ip: string, port = 443): Endpoint => ({
      namespaceLabels: {},
      podLabels: {},
      ip,
      port,
    });

    expect(canReach(nsB.policies, podB, nsA.policies, podA)).toBe(false);
    expect(canReach(nsA.policies, podA, nsB.policies, podB)).toBe(false);
    expect(canReach(nsA.policies, podA, nsA.policies, otherPodA)).toBe(false);
    expect(canReach([], traefik, nsA.policies, podA)).toBe(true);
    expect(canReach(nsA.policies, podA, [], dns)).toBe(true);
    expect(canReach(nsA.policies, podA, [], outside("93.184.216.34"))).toBe(true);
    for (const ip of ["10.43.0.1", "169.254.169.254", "192.168.1.1", "172.16.0.1"]) {
      expect(canReach(nsA.policies, podA, [], outside(ip)), ip).toBe(false);
    }
  });

  it("refuses a root pod in a restricted namespace and says so in plain words", async () => {
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
