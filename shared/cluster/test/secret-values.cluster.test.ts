import { fileURLToPath } from "node:url";
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { defaultClusterConfig } from "../src/config";
import { createKubernetesCluster, type KubernetesCluster } from "../src/kubernetes";
import { instanceObjects, namespaceName } from "../src/names";
import { type AppSpec, ClusterError, type InstanceSpec } from "../src/port";
import {
  asServiceAccount,
  describeCluster,
  labKubeConfig,
  uniqueId,
  waitFor,
} from "../src/testing";
import { statelessApp } from "./fixtures";

const rbacFile = fileURLToPath(
  new URL("../../../knative/base/provisioner-rbac.yaml", import.meta.url),
);
const config = { ...defaultClusterConfig, namespacePrefix: "t-sv-" };
const RESTARTED_AT = "kubectl.kubernetes.io/restartedAt";
const FOREIGN = "not-a-customer-secret";

/** An app with two generated credentials, so one can change and the other must not. */
const credentialedApp: AppSpec = {
  ...statelessApp,
  generatedSecrets: ["ADMIN_TOKEN", "SECRET_KEY"],
};

const decode = (data: Record<string, string> | undefined) =>
  Object.fromEntries(
    Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );

/** A JSON merge patch, as the driver sends it (the typed clients default to JSON patch). */
const mergePatch = (kc: KubeConfig, object: KubernetesObject) =>
  KubernetesObjectApi.makeApiClient(kc).patch(
    object,
    undefined,
    undefined,
    undefined,
    undefined,
    PatchStrategy.MergePatch,
  );
const secret = (name: string, namespace: string, stringData?: Record<string, string>) => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name, namespace },
  ...(stringData ? { stringData } : {}),
});

const status = (promise: Promise<unknown>) =>
  promise.then(
    () => 200,
    (e: unknown) => (e instanceof ApiException ? e.code : -1),
  );

describeCluster("setSecretValues and recreateSecret: what reaches the instance's Secret", () => {
  let admin: KubeConfig;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let asProvisioner: KubeConfig;
  let cluster: KubernetesCluster;
  const customers: string[] = [];

  /** A namespace and an instance of the credentialed app, applied by `by`. */
  async function applied(by: KubernetesCluster, secretValues?: Record<string, string>) {
    const customerId = uniqueId();
    customers.push(customerId);
    const spec: InstanceSpec = {
      customerId,
      instanceId: uniqueId(),
      app: credentialedApp,
      ...(secretValues ? { secretValues } : {}),
    };
    await by.ensureNamespace({ customerId, plans: [credentialedApp.resources] });
    await by.applyInstance(spec);
    return { spec, ...instanceObjects(config, spec) };
  }

  beforeAll(async () => {
    admin = labKubeConfig();
    core = admin.makeApiClient(CoreV1Api);
    apps = admin.makeApiClient(AppsV1Api);
    cluster = createKubernetesCluster({ config, kubeConfig: admin });
    asProvisioner = await asServiceAccount(admin, rbacFile, "provisioner");
    // A Secret outside any customer namespace, for the provisioner to be refused.
    await core
      .createNamespacedSecret({
        namespace: "minispod",
        body: { metadata: { name: FOREIGN }, stringData: { password: "not-for-the-provisioner" } },
      })
      .catch((e: unknown) => {
        if (!(e instanceof ApiException && e.code === 409)) throw e;
      });
    // The admission policy takes effect once the API server has compiled it.
    await waitFor("the provisioner's admission policy", async () =>
      mergePatch(asProvisioner, secret(FOREIGN, "minispod")).then(
        () => false,
        (e: unknown) => e instanceof ApiException && String(e.body).includes("customer namespaces"),
      ),
    );
  });

  afterAll(async () => {
    await Promise.all(
      customers.map((id) =>
        core.deleteNamespace({ name: namespaceName(config, id) }).catch(() => null),
      ),
    );
  });

  it("changes only the given key, as the API server stores it; restart rolls the pods", async () => {
    const { spec, namespace, name } = await applied(cluster, { ADMIN_TOKEN: "first-token" });
    const before = decode((await core.readNamespacedSecret({ name, namespace })).data);
    expect(before.ADMIN_TOKEN).toBe("first-token");
    expect(before.SECRET_KEY).toMatch(/.{16,}/);
    const templateBefore = (await apps.readNamespacedDeployment({ name, namespace })).spec
      ?.template;
    expect(templateBefore?.metadata?.annotations?.[RESTARTED_AT]).toBeUndefined();

    await cluster.setSecretValues(spec, { ADMIN_TOKEN: "rotated-token" });
    const after = decode((await core.readNamespacedSecret({ name, namespace })).data);
    expect(after).toEqual({ ...before, ADMIN_TOKEN: "rotated-token" });
    // Writing the same value again converges (a replayed event).
    await cluster.setSecretValues(spec, { ADMIN_TOKEN: "rotated-token" });
    expect(decode((await core.readNamespacedSecret({ name, namespace })).data)).toEqual(after);

    // setSecretValues itself leaves the pods alone; the provisioner restarts them next.
    const unchanged = await apps.readNamespacedDeployment({ name, namespace });
    expect(unchanged.spec?.template?.metadata?.annotations?.[RESTARTED_AT]).toBeUndefined();
    const { restartedAt } = await cluster.restart(spec);
    const restarted = await apps.readNamespacedDeployment({ name, namespace });
    expect(restarted.spec?.template?.metadata?.annotations?.[RESTARTED_AT]).toBe(restartedAt);
    expect(restarted.metadata?.generation).toBeGreaterThan(unchanged.metadata?.generation ?? 0);

    // A later apply (the reconcile sweep) keeps the rotated value and the restart.
    await cluster.applyInstance({ ...spec, secretValues: { ADMIN_TOKEN: "first-token" } });
    expect(decode((await core.readNamespacedSecret({ name, namespace })).data)).toEqual(after);
    const reapplied = await apps.readNamespacedDeployment({ name, namespace });
    expect(reapplied.spec?.template?.metadata?.annotations?.[RESTARTED_AT]).toBe(restartedAt);
  });

  it("reports a missing Secret or namespace as a typed not_found error", async () => {
    const { spec, namespace, name } = await applied(cluster);
    const other = { customerId: spec.customerId, instanceId: uniqueId() };
    const missing = await cluster
      .setSecretValues(other, { ADMIN_TOKEN: "x" })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ClusterError);
    expect(missing).toMatchObject({ code: "not_found", retryable: false, status: 404 });
    // The merge patch did not create a Secret for the unknown instance.
    const otherName = instanceObjects(config, other).name;
    expect(await status(core.readNamespacedSecret({ name: otherName, namespace }))).toBe(404);

    const noNamespace = await cluster
      .setSecretValues({ customerId: uniqueId(), instanceId: uniqueId() }, { ADMIN_TOKEN: "x" })
      .catch((e: unknown) => e);
    expect(noNamespace).toMatchObject({ code: "not_found", status: 404 });
    // The existing instance's Secret is untouched by either.
    expect(
      decode((await core.readNamespacedSecret({ name, namespace })).data).ADMIN_TOKEN,
    ).not.toBe("x");
  });

  it("with the provisioner's own token: patches the Secret, but may not read or list it", async () => {
    const provisioner = createKubernetesCluster({ config, kubeConfig: asProvisioner });
    const { spec, namespace, name } = await applied(provisioner);
    const before = decode((await core.readNamespacedSecret({ name, namespace })).data);

    await provisioner.setSecretValues(spec, { SECRET_KEY: "rotated-by-provisioner" });
    await provisioner.restart(spec);
    const after = decode((await core.readNamespacedSecret({ name, namespace })).data);
    expect(after).toEqual({ ...before, SECRET_KEY: "rotated-by-provisioner" });
    const deployment = await apps.readNamespacedDeployment({ name, namespace });
    expect(deployment.spec?.template?.metadata?.annotations?.[RESTARTED_AT]).toBeTruthy();

    const own = asProvisioner.makeApiClient(CoreV1Api);
    expect(await status(own.readNamespacedSecret({ name, namespace }))).toBe(403);
    expect(await status(own.listNamespacedSecret({ namespace }))).toBe(403);
    expect(await status(own.listSecretForAllNamespaces())).toBe(403);
  });

  it("recreateSecret with the provisioner's own token: creates a deleted Secret, keeps an existing one", async () => {
    const provisioner = createKubernetesCluster({ config, kubeConfig: asProvisioner });
    const { spec, namespace, name } = await applied(provisioner, { ADMIN_TOKEN: "the-customers" });
    const first = decode((await core.readNamespacedSecret({ name, namespace })).data);
    // It exists: a 409, nothing overwritten (nor read).
    expect(
      await provisioner.recreateSecret({ ...spec, secretValues: { ADMIN_TOKEN: "other" } }),
    ).toEqual({ created: false });
    expect(decode((await core.readNamespacedSecret({ name, namespace })).data)).toEqual(first);

    await core.deleteNamespacedSecret({ name, namespace });
    // applyInstance does not bring it back (the Deployment exists): that is the bug it repairs.
    await provisioner.applyInstance(spec);
    expect(await status(core.readNamespacedSecret({ name, namespace }))).toBe(404);
    expect(await provisioner.recreateSecret(spec)).toEqual({ created: true });
    const again = decode((await core.readNamespacedSecret({ name, namespace })).data);
    expect(again.ADMIN_TOKEN).toBe("the-customers");
    expect(again.SECRET_KEY).toMatch(/.{16,}/);
    expect(again.SECRET_KEY).not.toBe(first.SECRET_KEY);
    const labels = (await core.readNamespacedSecret({ name, namespace })).metadata?.labels;
    expect(labels?.["minispod.dev/instance"]).toBe(spec.instanceId);

    const nowhere = await provisioner
      .recreateSecret({ ...spec, customerId: uniqueId() })
      .catch((e: unknown) => e);
    expect(nowhere).toMatchObject({ code: "not_found" });
  });

  it("with the provisioner's own token: no patch (which would answer with the data) outside customer namespaces", async () => {
    const own = asProvisioner.makeApiClient(CoreV1Api);
    const refused = await mergePatch(asProvisioner, secret(FOREIGN, "minispod")).then(
      (secret) => ({ code: 200, body: JSON.stringify(secret) }),
      (e: unknown) => ({
        code: e instanceof ApiException ? e.code : -1,
        body: e instanceof ApiException ? String(e.body) : String(e),
      }),
    );
    expect(refused.code).toBeGreaterThanOrEqual(400);
    expect(refused.body).toContain("only in customer namespaces");
    expect(refused.body).not.toContain(Buffer.from("not-for-the-provisioner").toString("base64"));
    const stored = await core.readNamespacedSecret({ name: FOREIGN, namespace: "minispod" });
    expect(decode(stored.data)).toEqual({ password: "not-for-the-provisioner" });
    expect(
      await status(
        mergePatch(asProvisioner, secret(FOREIGN, "minispod", { password: "overwritten" })),
      ),
    ).toBeGreaterThanOrEqual(400);
    expect(await status(own.deleteNamespacedSecret({ name: FOREIGN, namespace: "minispod" }))).toBe(
      422,
    );
    // Nor can it label a namespace as a customer's first, or delete one that isn't
    // (kube-system itself can't be deleted by anyone: an unlabelled one of our own).
    const plain = `t-sv-plain-${uniqueId()}`;
    await core.createNamespace({ body: { metadata: { name: plain } } });
    try {
      const labelled = await mergePatch(asProvisioner, {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: plain, labels: { "minispod.dev/customer": "x" } },
      }).catch((e: unknown) => e);
      expect(labelled).toBeInstanceOf(ApiException);
      expect(String((labelled as ApiException<string>).body)).toContain("only customer namespaces");
      const deleted = await own.deleteNamespace({ name: plain }).catch((e: unknown) => e);
      expect(deleted).toBeInstanceOf(ApiException);
      expect(String((deleted as ApiException<string>).body)).toContain("only customer namespaces");
      const after = await core.readNamespace({ name: plain });
      expect(after.metadata?.labels?.["minispod.dev/customer"]).toBeUndefined();
      expect(after.metadata?.deletionTimestamp).toBeUndefined();
    } finally {
      await core.deleteNamespace({ name: plain }).catch(() => null);
    }
  });
});
