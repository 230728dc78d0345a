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
  /**
   * K8S_STORAGE_CLASS: StorageClass of instance volumes; empty uses the
   * cluster's default (K3s: local-path).
   */
  storageClassName?: string | null | undefined;
  /**
   * DOMAINS_PER_INSTANCE (default 5): custom domains one instance may have;
   * the namespace's quota leaves room for their Ingress, certificate Secrets
   * and cert-manager's HTTP-01 solvers (a pod, Service and Ingress per challenge).
   */
  domainsPerInstance?: number | undefined;
}

/** Custom domains per instance when the configuration says nothing. */
export const DEFAULT_DOMAINS_PER_INSTANCE = 5;

export const defaultClusterConfig: ClusterConfig = {
  namespacePrefix: "customer-",
  clusterDomain: "apps.localhost",
  ingressClassName: "traefik",
  ingressNamespace: "kube-system",
  tlsIssuer: null,
  egress: "internet",
};
