import { fileURLToPath } from "node:url";
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  NetworkingV1Api,
} from "@kubernetes/client-node";
import { defaultClusterConfig, instanceObjects } from "@minispod/cluster";
import { createKubernetesCluster } from "@minispod/cluster/kubernetes";
import {
  asServiceAccount,
  describeCluster,
  installLabCrds,
  labKubeConfig,
} from "@minispod/cluster/testing";
import { startTestDnsServer, type TestDnsServer } from "@minispod/shared/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createApp } from "../src/app";
import { CERTS, status, walkCustomDomain } from "./domain-walk";
import {
  activeSubscription,
  type Catalog,
  deliver,
  type ProvisionerTest,
  type Subscribed,
  seedService,
  setupProvisioner,
  subscriptionEvent,
} from "./helpers";

// Custom domains on a real kube-apiserver with cert-manager's CRDs (from the Go module
// proxy, scripts/deploy/crds.sh), driven as the provisioner's own ServiceAccount, so
// its RBAC and admission policy (knative/base/provisioner-rbac.yaml) are tested too.
const ISSUER = "letsencrypt-lab";
const config = {
  ...defaultClusterConfig,
  namespacePrefix: "dom-",
  clusterDomain: "apps.lab.test",
  tlsIssuer: ISSUER,
};
const rbacFile = fileURLToPath(
  new URL("../../../knative/base/provisioner-rbac.yaml", import.meta.url),
);

describeCluster("custom domains against the lab's API server (cert-manager CRDs)", () => {
  let t: ProvisionerTest;
  let dns: TestDnsServer;
  let admin: KubeConfig;
  let asProvisioner: KubeConfig;
  let core: CoreV1Api;
  let net: NetworkingV1Api;
  let stateless: Catalog;
  const namespaces = new Set<string>();

  beforeAll(async () => {
    admin = labKubeConfig();
    const crds = await installLabCrds(admin, "cert-manager-");
    expect(crds).toContain("certificates.cert-manager.io");
    core = admin.makeApiClient(CoreV1Api);
    net = admin.makeApiClient(NetworkingV1Api);
    asProvisioner = await asServiceAccount(admin, rbacFile, "provisioner");
    dns = await startTestDnsServer();
    t = await setupProvisioner({ env: { DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: "500" } });
    stateless = await seedService(t.h.database.db, {
      image: "traefik/whoami",
      imageTag: "v1.10",
      port: 8080,
      storage: null,
      storageMountPath: null,
    });
  }, 180_000);

  afterAll(async () => {
    await Promise.all(
      [...namespaces].map((name) => core?.deleteNamespace({ name }).catch(() => undefined)),
    );
    await dns?.close();
    await t?.h.close();
  });

  const appFor = (tlsIssuer: string | null) =>
    createApp({
      ...t.deps,
      cluster: createKubernetesCluster({
        config: { ...config, tlsIssuer },
        kubeConfig: asProvisioner,
      }),
    });
  const provisioned = async (app: ReturnType<typeof createApp>): Promise<Subscribed> => {
    const s = await activeSubscription(t.h, { service: stateless });
    const response = await deliver(app, subscriptionEvent("subscription.activated", s));
    expect(response.status, await response.clone().text()).toBe(200);
    namespaces.add(instanceObjects(config, refOf(s)).namespace);
    return s;
  };
  const refOf = (s: Subscribed) => ({ customerId: s.user.id, instanceId: s.instanceId });

  it("verifies a domain by its TXT record, routes it, requests its Certificate, goes ACTIVE once Ready, and removes it all", async () => {
    const app = appFor(ISSUER);
    const s = await provisioned(app);
    const ref = refOf(s);
    const { namespace, name } = instanceObjects(config, ref);
    await walkCustomDomain({
      app,
      db: t.h.database.db,
      dns,
      admin,
      s,
      ref,
      namespace,
      name,
      host: `${name}.apps.lab.test`,
      issuer: ISSUER,
    });
  }, 120_000);

  it("gives the default host a certificate with an issuer and no TLS section without one", async () => {
    const withIssuer = await provisioned(appFor(ISSUER));
    const a = instanceObjects(config, refOf(withIssuer));
    const issued = await net.readNamespacedIngress({ name: a.name, namespace: a.namespace });
    expect(issued.spec?.tls).toEqual([{ hosts: [a.host], secretName: `${a.name}-tls` }]);
    expect(issued.metadata?.annotations?.["cert-manager.io/cluster-issuer"]).toBe(ISSUER);

    const without = await provisioned(appFor(null));
    const b = instanceObjects(config, refOf(without));
    const plain = await net.readNamespacedIngress({ name: b.name, namespace: b.namespace });
    expect(plain.spec?.rules?.[0]?.host).toBe(b.host);
    expect(plain.spec?.tls).toBeUndefined();
    expect(plain.metadata?.annotations?.["cert-manager.io/cluster-issuer"]).toBeUndefined();
  }, 60_000);

  it("lets the provisioner request certificates in customer namespaces only", async () => {
    const provisionerCerts = asProvisioner.makeApiClient(CustomObjectsApi);
    const body = (namespace: string) => ({
      apiVersion: "cert-manager.io/v1",
      kind: "Certificate",
      metadata: { name: "sneaky", namespace },
      spec: {
        secretName: "sneaky-tls",
        dnsNames: ["sneaky.example.com"],
        issuerRef: { kind: "ClusterIssuer", name: ISSUER },
      },
    });
    // Refused by the admission policy (RBAC alone would allow it), saying why.
    const refused = await provisionerCerts
      .createNamespacedCustomObject({ ...CERTS, namespace: "default", body: body("default") })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(refused).toBeInstanceOf(ApiException);
    expect((refused as ApiException<unknown>).code).toBe(422);
    expect(String((refused as ApiException<unknown>).body)).toContain(
      "the provisioner requests certificates only in customer namespaces",
    );
    const s = await provisioned(appFor(ISSUER));
    const { namespace } = instanceObjects(config, refOf(s));
    expect(
      await status(
        provisionerCerts.createNamespacedCustomObject({
          ...CERTS,
          namespace,
          body: body(namespace),
        }),
      ),
    ).toBe(200);
  }, 60_000);
});
