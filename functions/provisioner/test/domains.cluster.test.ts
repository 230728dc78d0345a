import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  NetworkingV1Api,
} from "@kubernetes/client-node";
import { defaultClusterConfig, instanceObjects } from "@minispod/cluster";
import { createKubernetesCluster } from "@minispod/cluster/kubernetes";
import {
  certificateName,
  certificateSecretName,
  domainsIngressName,
} from "@minispod/cluster/manifests";
import {
  describeCluster,
  installLabCrds,
  labKubeConfig,
  tokenKubeConfig,
} from "@minispod/cluster/testing";
import { instanceDomains, outboxEvents } from "@minispod/db";
import { fullType } from "@minispod/shared";
import { startTestDnsServer, type TestDnsServer } from "@minispod/shared/testing";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { createApp } from "../src/app";
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
const CERTS = { group: "cert-manager.io", version: "v1", plural: "certificates" } as const;

const status = (promise: Promise<unknown>) =>
  promise.then(
    () => 200,
    (e: unknown) => (e instanceof ApiException ? e.code : -1),
  );

describeCluster("custom domains against the lab's API server (cert-manager CRDs)", () => {
  let t: ProvisionerTest;
  let dns: TestDnsServer;
  let admin: KubeConfig;
  let asProvisioner: KubeConfig;
  let core: CoreV1Api;
  let net: NetworkingV1Api;
  let custom: CustomObjectsApi;
  let stateless: Catalog;
  const namespaces = new Set<string>();

  beforeAll(async () => {
    admin = labKubeConfig();
    const crds = await installLabCrds(admin, "cert-manager-");
    expect(crds).toContain("certificates.cert-manager.io");
    const adminCluster = createKubernetesCluster({ config, kubeConfig: admin });
    await adminCluster.applyObjects([
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "minispod" } },
    ]);
    await adminCluster.applyObjects(
      parseAllDocuments(readFileSync(rbacFile, "utf8")).map((d) => d.toJSON() as KubernetesObject),
    );
    core = admin.makeApiClient(CoreV1Api);
    net = admin.makeApiClient(NetworkingV1Api);
    custom = admin.makeApiClient(CustomObjectsApi);
    const token = await core.createNamespacedServiceAccountToken({
      name: "provisioner",
      namespace: "minispod",
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    asProvisioner = tokenKubeConfig(admin, token.status?.token ?? "");
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
  const sweep = async (app: ReturnType<typeof createApp>) => {
    const response = await app.request("/cron/domains", { method: "POST" });
    expect(response.status).toBe(200);
    return (await response.json()) as Record<string, number>;
  };
  const domainRow = async (id: string) =>
    (await t.h.database.db.select().from(instanceDomains).where(eq(instanceDomains.id, id)))[0];

  it("verifies a domain by its TXT record, routes it, requests its Certificate, goes ACTIVE once Ready, and removes it all", async () => {
    const app = appFor(ISSUER);
    const s = await provisioned(app);
    const ref = refOf(s);
    const { namespace, name } = instanceObjects(config, ref);
    const domain = `shop-${randomUUID().slice(0, 8)}.example.com`;
    const token = `minispod-verify-${randomUUID()}`;
    const [claim] = await t.h.database.db
      .insert(instanceDomains)
      .values({ instanceId: s.instanceId, userId: s.user.id, domain, token })
      .returning();

    // Not verified while the TXT record is missing: nothing in the cluster.
    await sweep(app);
    expect((await domainRow(claim!.id))?.state).toBe("PENDING_VERIFICATION");
    expect(
      await status(net.readNamespacedIngress({ name: domainsIngressName(ref), namespace })),
    ).toBe(404);

    // The customer creates the record at the local DNS server: the sweep verifies and routes.
    dns.set(`_minispod-challenge.${domain}`, "TXT", [token]);
    await sweep(app);
    expect(await domainRow(claim!.id)).toMatchObject({ state: "ISSUING" });

    const ingress = await net.readNamespacedIngress({ name: domainsIngressName(ref), namespace });
    expect(ingress.spec?.rules?.map((r) => r.host)).toEqual([domain]);
    expect(ingress.spec?.rules?.[0]?.http?.paths[0]?.backend.service?.name).toBe(name);
    expect(ingress.spec?.tls).toBeUndefined(); // no secret yet, so none named
    const cert = (await custom.getNamespacedCustomObject({
      ...CERTS,
      namespace,
      name: certificateName(ref, domain),
    })) as KubernetesObject & {
      spec: { dnsNames: string[]; secretName: string; issuerRef: { kind: string; name: string } };
    };
    expect(cert.spec.dnsNames).toEqual([domain]);
    expect(cert.spec.secretName).toBe(certificateSecretName(ref, domain));
    expect(cert.spec.issuerRef).toMatchObject({ kind: "ClusterIssuer", name: ISSUER });
    expect(cert.metadata?.labels?.["minispod.dev/instance"]).toBe(s.instanceId);

    // What cert-manager does once the HTTP-01 challenge passed: the Secret, then Ready.
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: certificateSecretName(ref, domain) },
        type: "kubernetes.io/tls",
        data: { "tls.crt": "", "tls.key": "" },
      },
    });
    await custom.replaceNamespacedCustomObjectStatus({
      ...CERTS,
      namespace,
      name: certificateName(ref, domain),
      body: {
        ...cert,
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
    await sweep(app);
    expect(await domainRow(claim!.id)).toMatchObject({
      state: "ACTIVE",
      reason: "serving with its certificate",
    });
    const served = await net.readNamespacedIngress({ name: domainsIngressName(ref), namespace });
    expect(served.spec?.tls).toEqual([
      { hosts: [domain], secretName: certificateSecretName(ref, domain) },
    ]);
    const active = await t.h.database.db
      .select()
      .from(outboxEvents)
      .where(
        and(eq(outboxEvents.subject, claim!.id), eq(outboxEvents.type, fullType("domain.active"))),
      );
    expect(active).toHaveLength(1);

    // Removal (what DELETE /domains/:id leaves for the provisioner): rule, Certificate, Secret go.
    await t.h.database.db.delete(instanceDomains).where(eq(instanceDomains.id, claim!.id));
    const removed = await deliver(app, {
      id: randomUUID(),
      type: fullType("domain.removed"),
      source: "instances",
      subject: claim!.id,
      time: new Date().toISOString(),
      data: {
        userId: s.user.id,
        domainId: claim!.id,
        instanceId: s.instanceId,
        domain,
        state: "ACTIVE",
        reason: "removed by its owner",
      },
    });
    expect(removed.status).toBe(200);
    expect(
      await status(net.readNamespacedIngress({ name: domainsIngressName(ref), namespace })),
    ).toBe(404);
    expect(
      await status(
        custom.getNamespacedCustomObject({
          ...CERTS,
          namespace,
          name: certificateName(ref, domain),
        }),
      ),
    ).toBe(404);
    expect(
      await status(
        core.readNamespacedSecret({ name: certificateSecretName(ref, domain), namespace }),
      ),
    ).toBe(404);
    // The instance's own Ingress is untouched.
    expect((await net.readNamespacedIngress({ name, namespace })).spec?.rules?.[0]?.host).toBe(
      `${name}.apps.lab.test`,
    );
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
