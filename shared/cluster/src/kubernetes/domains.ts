import type {
  KubernetesObject,
  KubernetesObjectApi,
  V1Ingress,
  V1Secret,
} from "@kubernetes/client-node";
import type { ClusterConfig } from "../config";
import {
  CERTIFICATE_API_VERSION,
  COMPONENT_LABEL,
  certificateManifest,
  DOMAIN_ANNOTATION,
  DOMAIN_COMPONENT,
  domainsIngressManifest,
  domainsIngressName,
} from "../manifests/domains";
import { instanceObjects, labels } from "../names";
import { type ClusterDomains, ClusterError, type DomainRoute, type InstanceRef } from "../port";

/** A cert-manager Certificate as read back (only the fields we use). */
interface CertificateObject extends KubernetesObject {
  spec?: { secretName?: string; dnsNames?: string[] };
  status?: {
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
    failedIssuanceAttempts?: number;
  };
}

/**
 * cert-manager not installed: client-node finds no such kind in discovery and
 * throws a plain Error. For reads that means "no certificates", so deleting an
 * instance never fails on a cluster without cert-manager.
 */
async function noCrdAsNotFound<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof Error && /Unrecognized API version and kind/i.test(error.message)) {
      throw new ClusterError("not_found", `cert-manager is not installed: ${error.message}`);
    }
    throw error;
  }
}

/** What the driver lends the domain methods: its retrying calls and apply. */
export interface DomainDriverParts {
  config: ClusterConfig;
  objects: KubernetesObjectApi;
  call: <T>(what: string, fn: () => Promise<T>) => Promise<T>;
  apply: (object: KubernetesObject) => Promise<KubernetesObject>;
  orNull: <T>(promise: Promise<T>) => Promise<T | null>;
}

/**
 * Where a certificate stands, in plain words. cert-manager sets `Ready`
 * True once signed; `Issuing` False with reason "Failed" (or failed
 * attempts counted) when the ACME order failed, which it retries with backoff.
 */
export function certificateVerdict(
  cert: CertificateObject | undefined,
): Pick<DomainRoute, "certificate" | "reason"> {
  if (!cert) return { certificate: "missing", reason: "the certificate is not in the cluster" };
  const conditions = cert.status?.conditions ?? [];
  const ready = conditions.find((c) => c.type === "Ready");
  if (ready?.status === "True") return { certificate: "ready", reason: "certificate issued" };
  const issuing = conditions.find((c) => c.type === "Issuing");
  const failed =
    (issuing?.status === "False" && issuing.reason === "Failed") ||
    (cert.status?.failedIssuanceAttempts ?? 0) > 0;
  if (failed) {
    const why = issuing?.message ?? ready?.message ?? "the certificate authority refused";
    return { certificate: "failed", reason: `the certificate could not be issued: ${why}` };
  }
  return { certificate: "issuing", reason: "waiting for the certificate authority" };
}

/**
 * Custom domains on a real cluster: a second Ingress per instance
 * (`<name>-domains`) and a Certificate per domain, all labelled with the
 * instance and the custom-domain component so they are found by selector.
 */
export function kubernetesDomains(parts: DomainDriverParts): ClusterDomains {
  const { config, objects, call, apply, orNull } = parts;
  const selector = (ref: InstanceRef) =>
    `${labels.instance}=${ref.instanceId},${COMPONENT_LABEL}=${DOMAIN_COMPONENT}`;

  const ingressRef = (ref: InstanceRef) => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: domainsIngressName(ref), namespace: instanceObjects(config, ref).namespace },
  });

  const readIngress = (ref: InstanceRef) =>
    orNull(call(`read Ingress ${domainsIngressName(ref)}`, () => objects.read(ingressRef(ref))));

  const listCertificates = async (ref: InstanceRef): Promise<Map<string, CertificateObject>> => {
    const byDomain = new Map<string, CertificateObject>();
    // Without an issuer no Certificate is ever made (and cert-manager may not be installed).
    if (!config.tlsIssuer) return byDomain;
    const { namespace } = instanceObjects(config, ref);
    const list = await orNull(
      noCrdAsNotFound(() =>
        call(`list Certificates of ${ref.instanceId}`, () =>
          objects.list<CertificateObject>(
            CERTIFICATE_API_VERSION,
            "Certificate",
            namespace,
            undefined,
            undefined,
            undefined,
            undefined,
            selector(ref),
          ),
        ),
      ),
    );
    for (const cert of list?.items ?? []) {
      const domain = cert.metadata?.annotations?.[DOMAIN_ANNOTATION];
      if (domain) byDomain.set(domain, cert);
    }
    return byDomain;
  };

  const del = (object: KubernetesObject) =>
    orNull(
      call(`delete ${object.kind} ${object.metadata?.namespace}/${object.metadata?.name}`, () =>
        objects.delete(object, undefined, undefined, undefined, undefined, "Background"),
      ),
    );

  const describe = (
    domains: readonly string[],
    ingress: V1Ingress | null,
    certs: Map<string, CertificateObject>,
  ): DomainRoute[] => {
    const routed = new Set((ingress?.spec?.rules ?? []).map((r) => r.host));
    const tls = new Set((ingress?.spec?.tls ?? []).flatMap((t) => t.hosts ?? []));
    return domains.map((domain) => ({
      domain,
      routed: routed.has(domain),
      tls: tls.has(domain),
      ...(config.tlsIssuer
        ? certificateVerdict(certs.get(domain))
        : {
            certificate: "none" as const,
            reason: "routed without a certificate of its own: no certificate issuer is configured",
          }),
    }));
  };

  return {
    async setInstanceDomains(ref, wanted) {
      const domains = [...new Set(wanted)].sort();
      const { namespace } = instanceObjects(config, ref);
      if (config.tlsIssuer) {
        await Promise.all(domains.map((d) => apply(certificateManifest(config, ref, d))));
      }
      const certs = await listCertificates(ref);
      // Certificates (and their secrets) of domains no longer wanted go.
      await Promise.all(
        [...certs.entries()]
          .filter(([domain]) => !domains.includes(domain))
          .flatMap(([, cert]) => [
            del({
              apiVersion: CERTIFICATE_API_VERSION,
              kind: "Certificate",
              metadata: cert.metadata ?? {},
            }),
            ...(cert.spec?.secretName
              ? [
                  del({
                    apiVersion: "v1",
                    kind: "Secret",
                    metadata: { name: cert.spec.secretName, namespace },
                  } satisfies V1Secret),
                ]
              : []),
          ]),
      );
      if (domains.length === 0) {
        await del(ingressRef(ref));
        return [];
      }
      const ready = new Set(
        domains.filter((d) => certificateVerdict(certs.get(d)).certificate === "ready"),
      );
      const ingress = domainsIngressManifest(config, ref, domains, ready);
      await apply(ingress);
      return describe(domains, ingress, certs);
    },

    async readDomainStatus(ref) {
      const [ingress, certs] = await Promise.all([
        readIngress(ref) as Promise<V1Ingress | null>,
        listCertificates(ref),
      ]);
      const domains = new Set([
        ...(ingress?.spec?.rules ?? []).flatMap((r) => (r.host ? [r.host] : [])),
        ...certs.keys(),
      ]);
      return describe([...domains].sort(), ingress, certs);
    },
  };
}
