import { randomUUID } from "node:crypto";
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  NetworkingV1Api,
} from "@kubernetes/client-node";
import type { InstanceRef } from "@minispod/cluster";
import {
  certificateName,
  certificateSecretName,
  domainsIngressName,
} from "@minispod/cluster/manifests";
import { type Db, instanceDomains, outboxEvents } from "@minispod/db";
import { type AppEnv, fullType } from "@minispod/shared";
import type { TestDnsServer } from "@minispod/shared/testing";
import { and, eq } from "drizzle-orm";
import type { Hono } from "hono";
import { expect } from "vitest";
import { deliver, type Subscribed } from "./helpers";

export const CERTS = { group: "cert-manager.io", version: "v1", plural: "certificates" } as const;

/** The HTTP status a Kubernetes call ends with (200 when it succeeds). */
export const status = (promise: Promise<unknown>) =>
  promise.then(
    () => 200,
    (e: unknown) => (e instanceof ApiException ? e.code : -1),
  );

export interface DomainWalk {
  /** The provisioner, with DNS_RESOLVERS at `dns` and K8S_TLS_ISSUER `issuer`. */
  app: Pick<Hono<AppEnv>, "request">;
  db: Db;
  dns: TestDnsServer;
  /** An admin's: plays cert-manager (the Secret, then Ready) and reads the cluster back. */
  admin: KubeConfig;
  s: Subscribed;
  ref: InstanceRef;
  /** The instance's namespace, object name and default host. */
  namespace: string;
  name: string;
  host: string;
  issuer: string;
}

/**
 * A custom domain on a running instance, on a real API server with cert-manager's
 * CRDs: not verified without its TXT record; verified once the record is at the
 * DNS server; its Ingress rule and Certificate as the cluster stores them; ACTIVE
 * once cert-manager (played here) made it Ready; removal takes the rule, the
 * Certificate and its Secret, and leaves the instance's own Ingress alone.
 */
export async function walkCustomDomain(w: DomainWalk) {
  const { app, db, dns, s, ref, namespace, name, host } = w;
  const ISSUER = w.issuer;
  const core = w.admin.makeApiClient(CoreV1Api);
  const net = w.admin.makeApiClient(NetworkingV1Api);
  const custom = w.admin.makeApiClient(CustomObjectsApi);
  const sweep = async () => {
    const response = await app.request("/cron/domains", { method: "POST" });
    expect(response.status).toBe(200);
    return (await response.json()) as Record<string, number>;
  };
  const domainRow = async (id: string) =>
    (await db.select().from(instanceDomains).where(eq(instanceDomains.id, id)))[0];

  const domain = `shop-${randomUUID().slice(0, 8)}.example.com`;
  const token = `minispod-verify-${randomUUID()}`;
  const [claim] = await db
    .insert(instanceDomains)
    .values({ instanceId: s.instanceId, userId: s.user.id, domain, token })
    .returning();

  // Not verified while the TXT record is missing: nothing in the cluster.
  await sweep();
  expect((await domainRow(claim!.id))?.state).toBe("PENDING_VERIFICATION");
  expect(
    await status(net.readNamespacedIngress({ name: domainsIngressName(ref), namespace })),
  ).toBe(404);

  // The customer creates the record at the local DNS server: the sweep verifies and routes.
  dns.set(`_minispod-challenge.${domain}`, "TXT", [token]);
  await sweep();
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
  await sweep();
  expect(await domainRow(claim!.id)).toMatchObject({
    state: "ACTIVE",
    reason: "serving with its certificate",
  });
  const served = await net.readNamespacedIngress({ name: domainsIngressName(ref), namespace });
  expect(served.spec?.tls).toEqual([
    { hosts: [domain], secretName: certificateSecretName(ref, domain) },
  ]);
  const active = await db
    .select()
    .from(outboxEvents)
    .where(
      and(eq(outboxEvents.subject, claim!.id), eq(outboxEvents.type, fullType("domain.active"))),
    );
  expect(active).toHaveLength(1);

  // Removal (what DELETE /domains/:id leaves for the provisioner): rule, Certificate, Secret go.
  await db.delete(instanceDomains).where(eq(instanceDomains.id, claim!.id));
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
  expect((await net.readNamespacedIngress({ name, namespace })).spec?.rules?.[0]?.host).toBe(host);
}
