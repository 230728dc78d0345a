import type { ClusterConfig } from "@minispod/cluster";
import { envField } from "@minispod/shared";
import * as v from "valibot";

const dnsLabelPrefix = v.pipe(
  v.string(),
  v.regex(/^[a-z0-9]([a-z0-9-]*)$/, "must be a DNS label prefix"),
);

/**
 * The cluster settings of every function that talks to the cluster
 * (provisioner, instances). Spread into a function's env schema.
 */
export const clusterEnvEntries = {
  /**
   * "kubernetes" or "simulated". Unset: kubernetes when KUBECONFIG is set or
   * the function runs in a pod (KUBERNETES_SERVICE_HOST), else simulated.
   */
  K8S_DRIVER: v.optional(
    v.picklist(["kubernetes", "simulated"], "must be kubernetes or simulated"),
  ),
  /** Path of a kubeconfig file; unset in a pod, where the ServiceAccount is used. */
  KUBECONFIG: v.optional(v.pipe(v.string(), v.nonEmpty())),
  /** Set by Kubernetes in every pod. */
  KUBERNETES_SERVICE_HOST: v.optional(v.string()),
  K8S_NAMESPACE_PREFIX: v.optional(dnsLabelPrefix, "customer-"),
  K8S_CLUSTER_DOMAIN: v.optional(
    v.pipe(v.string(), v.regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, "must be a DNS domain")),
    "apps.localhost",
  ),
  K8S_INGRESS_CLASS: v.optional(v.pipe(v.string(), v.nonEmpty()), "traefik"),
  K8S_INGRESS_NAMESPACE: v.optional(v.pipe(v.string(), v.nonEmpty()), "kube-system"),
  /** cert-manager ClusterIssuer of instance certificates; unset: the ingress's default certificate. */
  K8S_TLS_ISSUER: v.optional(v.string()),
  K8S_EGRESS: v.optional(v.picklist(["internet", "none"], "must be internet or none"), "internet"),
  /** StorageClass of instance volumes; unset: the cluster's default (K3s: local-path). */
  K8S_STORAGE_CLASS: v.optional(v.pipe(v.string(), v.nonEmpty())),
  /** Longest wait for one Kubernetes API request, in ms. */
  K8S_REQUEST_TIMEOUT_MS: envField.int(10_000, 100, 120_000),
  /**
   * Simulated driver only: length of each of a rollout's three steps (pull,
   * start, ready). The default makes an instance ready in about 3 s.
   */
  K8S_SIMULATED_DELAY_MS: envField.int(1000, 0, 600_000),
  /** Custom domains one instance may have (claims of every state count); sizes the namespace quota. */
  DOMAINS_PER_INSTANCE: envField.int(5, 0, 100),
  /**
   * Simulated driver only: whether its storage can take snapshots (backups);
   * false plays K3s's local-path, which the backups preflight refuses.
   */
  K8S_SIMULATED_SNAPSHOTS: envField.bool(true),
};

const clusterEnvSchema = v.object(clusterEnvEntries);
export type ClusterEnv = v.InferOutput<typeof clusterEnvSchema>;

export function clusterConfigOf(env: ClusterEnv): ClusterConfig {
  return {
    namespacePrefix: env.K8S_NAMESPACE_PREFIX,
    clusterDomain: env.K8S_CLUSTER_DOMAIN,
    ingressClassName: env.K8S_INGRESS_CLASS,
    ingressNamespace: env.K8S_INGRESS_NAMESPACE,
    tlsIssuer: env.K8S_TLS_ISSUER ? env.K8S_TLS_ISSUER : null,
    egress: env.K8S_EGRESS,
    storageClassName: env.K8S_STORAGE_CLASS ?? null,
    domainsPerInstance: env.DOMAINS_PER_INSTANCE,
  };
}

/** Which driver the environment asks for (see K8S_DRIVER). */
export function driverOf(
  env: Partial<Pick<ClusterEnv, "K8S_DRIVER" | "KUBECONFIG" | "KUBERNETES_SERVICE_HOST">>,
): "kubernetes" | "simulated" {
  if (env.K8S_DRIVER) return env.K8S_DRIVER;
  return env.KUBECONFIG || env.KUBERNETES_SERVICE_HOST ? "kubernetes" : "simulated";
}

/**
 * The production rule of every env schema that spreads clusterEnvEntries:
 * the simulated cluster would make paying customers' instances look
 * RUNNING while nothing runs.
 *
 * @example
 * v.pipe(v.object(entries), v.forward(v.check(clusterAllowed, CLUSTER_IN_PRODUCTION), ["K8S_DRIVER"]))
 */
export const clusterAllowed = (env: Parameters<typeof driverOf>[0] & { NODE_ENV: string }) =>
  env.NODE_ENV !== "production" || driverOf(env) === "kubernetes";

export const CLUSTER_IN_PRODUCTION =
  "must not be simulated when NODE_ENV=production (set KUBECONFIG, or run in a pod)";
