/**
 * Settings both drivers share; the provisioner parses them from the
 * environment (K8S_*) and passes them in.
 */
export interface ClusterConfig {
  /** K8S_NAMESPACE_PREFIX: a customer's namespace is prefix + customer id. */
  namespacePrefix: string;
  /** K8S_CLUSTER_DOMAIN: an instance answers at <instance>.<domain>. */
  clusterDomain: string;
  /** K8S_INGRESS_CLASS (default "traefik", as K3s ships it). */
  ingressClassName: string;
  /** K8S_INGRESS_NAMESPACE: where the ingress controller's pods run (default "kube-system"). */
  ingressNamespace: string;
  /**
   * K8S_TLS_ISSUER: cert-manager ClusterIssuer that signs instance
   * certificates; empty leaves TLS to the ingress controller's default certificate.
   */
  tlsIssuer: string | null;
  /**
   * K8S_EGRESS: "internet" lets instances open connections to public
   * addresses (never to cluster or private ranges); "none" allows DNS only.
   */
  egress: "internet" | "none";
}

export const defaultClusterConfig: ClusterConfig = {
  namespacePrefix: "customer-",
  clusterDomain: "apps.localhost",
  ingressClassName: "traefik",
  ingressNamespace: "kube-system",
  tlsIssuer: null,
  egress: "internet",
};
