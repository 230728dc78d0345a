import { createHash } from "node:crypto";
import type { KubernetesObject, V1Ingress } from "@kubernetes/client-node";
import type { ClusterConfig } from "../config";
import { instanceName, instanceObjects } from "../names";
import type { InstanceRef } from "../port";
import { instanceLabels } from "./instance";

/** Marks the objects of custom domains (the domains Ingress, Certificates). */
export const DOMAIN_COMPONENT = "custom-domain";
/** Label key naming what part of an instance an object is. */
export const COMPONENT_LABEL = "app.kubernetes.io/component";
/** The domain a Certificate is for (an annotation: a domain may be longer than a label value). */
export const DOMAIN_ANNOTATION = "minispod.dev/domain";

export const CERTIFICATE_API_VERSION = "cert-manager.io/v1";

/**
 * The instance's second Ingress, holding only its custom domains. Kept apart
 * from the default host's Ingress, whose `rules` list applyInstance owns:
 * server-side apply treats that list as one value, so two writers would fight.
 */
export const domainsIngressName = (ref: InstanceRef) => `${instanceName(ref.instanceId)}-domains`;

/** `<instance name>-d-<12 hex of the domain's sha256>`: deterministic and short enough for any domain. */
export const certificateName = (ref: InstanceRef, domain: string) =>
  `${instanceName(ref.instanceId)}-d-${createHash("sha256")
    .update(domain)
    .digest("hex")
    .slice(0, 12)}`;

/** The Secret cert-manager writes the signed certificate into. */
export const certificateSecretName = (ref: InstanceRef, domain: string) =>
  `${certificateName(ref, domain)}-tls`;

const domainLabels = (ref: InstanceRef) => ({
  ...instanceLabels(ref),
  [COMPONENT_LABEL]: DOMAIN_COMPONENT,
});

/** A cert-manager Certificate for one domain, signed by the cluster issuer over HTTP-01. */
export function certificateManifest(
  config: ClusterConfig,
  ref: InstanceRef,
  domain: string,
): KubernetesObject & { spec: Record<string, unknown> } {
  const { namespace } = instanceObjects(config, ref);
  return {
    apiVersion: CERTIFICATE_API_VERSION,
    kind: "Certificate",
    metadata: {
      name: certificateName(ref, domain),
      namespace,
      labels: domainLabels(ref),
      annotations: { [DOMAIN_ANNOTATION]: domain },
    },
    spec: {
      secretName: certificateSecretName(ref, domain),
      dnsNames: [domain],
      issuerRef: { kind: "ClusterIssuer", name: config.tlsIssuer ?? "", group: "cert-manager.io" },
      privateKey: { rotationPolicy: "Always" },
    },
  };
}

/**
 * The Ingress of the instance's custom domains: one rule per domain to the
 * instance's Service, and a TLS entry only for the domains in `withTls`
 * (those whose certificate is ready).
 */
export function domainsIngressManifest(
  config: ClusterConfig,
  ref: InstanceRef,
  domains: readonly string[],
  withTls: ReadonlySet<string>,
): V1Ingress {
  const { namespace, name } = instanceObjects(config, ref);
  const tls = domains
    .filter((d) => withTls.has(d))
    .map((d) => ({ hosts: [d], secretName: certificateSecretName(ref, d) }));
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name: domainsIngressName(ref),
      namespace,
      labels: domainLabels(ref),
      annotations: {
        "traefik.ingress.kubernetes.io/router.entrypoints": "web,websecure",
      },
    },
    spec: {
      ingressClassName: config.ingressClassName,
      ...(tls.length ? { tls } : {}),
      rules: domains.map((host) => ({
        host,
        http: {
          paths: [
            {
              path: "/",
              pathType: "Prefix",
              backend: { service: { name, port: { name: "http" } } },
            },
          ],
        },
      })),
    },
  };
}
