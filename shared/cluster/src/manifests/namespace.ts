import type {
  V1LimitRange,
  V1Namespace,
  V1NetworkPolicy,
  V1ResourceQuota,
  V1ServiceAccount,
} from "@kubernetes/client-node";
import { type ClusterConfig, DEFAULT_DOMAINS_PER_INSTANCE } from "../config";
import { labels, MANAGED_BY, namespaceName } from "../names";
import type { AppResources, NamespaceSpec } from "../port";
import { bytes, cpuMillis, formatBytes, formatCpu } from "./quantities";

/** Name of the NetworkPolicy that exists only with K8S_EGRESS=internet. */
export const ALLOW_INTERNET = "allow-internet";

/** The ServiceAccount instance pods run as: no API token is ever mounted. */
export const WORKLOAD_SERVICE_ACCOUNT = "workload";

/** Private, link-local, shared and loopback ranges: never "the internet". */
const NON_PUBLIC_V4 = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.168.0.0/16",
];
const NON_PUBLIC_V6 = ["::1/128", "fc00::/7", "fe80::/10"];

const namespaceLabels = (spec: NamespaceSpec) => ({
  [labels.managedBy]: MANAGED_BY,
  [labels.customer]: spec.customerId,
});

/**
 * The customer's namespace with Pod Security Standard labels: enforce,
 * audit and warn at the same level, "restricted" unless an app needs baseline.
 */
export function namespaceManifest(config: ClusterConfig, spec: NamespaceSpec): V1Namespace {
  const level = spec.podSecurity ?? "restricted";
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: namespaceName(config, spec.customerId),
      labels: {
        ...namespaceLabels(spec),
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": level,
        "pod-security.kubernetes.io/warn": level,
      },
    },
  };
}

interface Totals {
  cpu: number;
  memory: number;
  storage: number;
  volumes: number;
  maxCpu: number;
  maxMemory: number;
  maxStorage: number;
}

function totals(plans: readonly AppResources[], extraVolumes: readonly string[] = []): Totals {
  const t: Totals = {
    cpu: 0,
    memory: 0,
    storage: 0,
    volumes: 0,
    maxCpu: 0,
    maxMemory: 0,
    maxStorage: 0,
  };
  for (const plan of plans) {
    const cpu = cpuMillis(plan.cpu);
    const memory = bytes(plan.memory);
    t.cpu += cpu;
    t.memory += memory;
    t.maxCpu = Math.max(t.maxCpu, cpu);
    t.maxMemory = Math.max(t.maxMemory, memory);
    if (plan.storage) {
      const storage = bytes(plan.storage);
      t.storage += storage;
      t.volumes += 1;
      t.maxStorage = Math.max(t.maxStorage, storage);
    }
  }
  for (const size of extraVolumes) {
    t.storage += bytes(size);
    t.volumes += 1;
  }
  return t;
}

/**
 * Quota = the sum of the customer's plans, plus room for one more pod of
 * the largest plan so a rolling update or restart of a stateless app can
 * surge, plus the volumes a restore keeps side by side (`extraVolumes`).
 * Object counts are capped so a bug cannot fill the cluster.
 */
export function resourceQuotaManifest(config: ClusterConfig, spec: NamespaceSpec): V1ResourceQuota {
  const t = totals(spec.plans, spec.extraVolumes);
  const n = spec.plans.length;
  // Per instance, custom domains add their Ingress, a TLS Secret and cert-manager's
  // next-private-key Secret per domain, and an HTTP-01 solver (pod, Service, Ingress) per
  // challenge in flight.
  const d = config.domainsPerInstance ?? DEFAULT_DOMAINS_PER_INSTANCE;
  return {
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: {
      name: "plans",
      namespace: namespaceName(config, spec.customerId),
      labels: namespaceLabels(spec),
    },
    spec: {
      hard: {
        "requests.cpu": formatCpu(t.cpu + t.maxCpu),
        "limits.cpu": formatCpu(t.cpu + t.maxCpu),
        "requests.memory": formatBytes(t.memory + t.maxMemory),
        "limits.memory": formatBytes(t.memory + t.maxMemory),
        "requests.storage": formatBytes(t.storage),
        persistentvolumeclaims: String(t.volumes),
        pods: String(n * (2 + d)),
        services: String(n * (1 + d)),
        "services.loadbalancers": "0",
        "services.nodeports": "0",
        // kube-root-ca.crt is put in every namespace by the cluster itself.
        configmaps: "2",
        secrets: String(n * (2 + 2 * d) + 2),
        "count/deployments.apps": String(n),
        "count/ingresses.networking.k8s.io": String(n * (2 + d)),
      },
    },
  };
}

/** Bounds any one container or volume to the largest plan the customer holds. */
export function limitRangeManifest(config: ClusterConfig, spec: NamespaceSpec): V1LimitRange {
  const t = totals(spec.plans);
  const max = {
    cpu: formatCpu(Math.max(t.maxCpu, 1)),
    memory: formatBytes(Math.max(t.maxMemory, 1)),
  };
  return {
    apiVersion: "v1",
    kind: "LimitRange",
    metadata: {
      name: "plans",
      namespace: namespaceName(config, spec.customerId),
      labels: namespaceLabels(spec),
    },
    spec: {
      limits: [
        // Our containers always state their resources; the default covers anything else.
        // (`_default`/`_from`: client-node's model names for the JSON keys "default"/"from".)
        { type: "Container", max, _default: max, defaultRequest: max },
        ...(t.maxStorage > 0
          ? [{ type: "PersistentVolumeClaim", max: { storage: formatBytes(t.maxStorage) } }]
          : []),
      ],
    },
  };
}

/**
 * Deny everything in and out, then allow: the ingress controller in,
 * DNS out, and (K8S_EGRESS=internet) public addresses out. Pods of one
 * customer never reach another namespace, nor each other's instances.
 */
export function networkPolicyManifests(
  config: ClusterConfig,
  spec: NamespaceSpec,
): V1NetworkPolicy[] {
  const namespace = namespaceName(config, spec.customerId);
  const meta = (name: string) => ({ name, namespace, labels: namespaceLabels(spec) });
  const policies: V1NetworkPolicy[] = [
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta("default-deny"),
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta("allow-ingress-controller"),
      spec: {
        podSelector: {},
        policyTypes: ["Ingress"],
        ingress: [
          {
            _from: [
              {
                namespaceSelector: {
                  matchLabels: { "kubernetes.io/metadata.name": config.ingressNamespace },
                },
                podSelector: { matchLabels: { "app.kubernetes.io/name": config.ingressClassName } },
              },
            ],
          },
        ],
      },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta("allow-dns"),
      spec: {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [
          {
            to: [
              {
                namespaceSelector: {
                  matchLabels: { "kubernetes.io/metadata.name": "kube-system" },
                },
                podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
              },
            ],
            ports: [
              { protocol: "UDP", port: 53 },
              { protocol: "TCP", port: 53 },
            ],
          },
        ],
      },
    },
  ];
  if (config.egress === "internet") {
    policies.push({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta(ALLOW_INTERNET),
      spec: {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [
          {
            to: [
              { ipBlock: { cidr: "0.0.0.0/0", except: NON_PUBLIC_V4 } },
              { ipBlock: { cidr: "::/0", except: NON_PUBLIC_V6 } },
            ],
          },
        ],
      },
    });
  }
  return policies;
}

/** The pods' identity: no token mounted, as the apps never call the Kubernetes API. */
export function serviceAccountManifests(
  config: ClusterConfig,
  spec: NamespaceSpec,
): V1ServiceAccount[] {
  const namespace = namespaceName(config, spec.customerId);
  return [WORKLOAD_SERVICE_ACCOUNT, "default"].map((name) => ({
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name, namespace, labels: namespaceLabels(spec) },
    automountServiceAccountToken: false,
  }));
}

export type NamespacedManifest =
  | V1ResourceQuota
  | V1LimitRange
  | V1NetworkPolicy
  | V1ServiceAccount;

/** Everything of the hardened namespace, namespace first (the others live in it). */
export function namespaceManifests(
  config: ClusterConfig,
  spec: NamespaceSpec,
): { namespace: V1Namespace; objects: NamespacedManifest[] } {
  return {
    namespace: namespaceManifest(config, spec),
    objects: [
      resourceQuotaManifest(config, spec),
      limitRangeManifest(config, spec),
      ...networkPolicyManifests(config, spec),
      ...serviceAccountManifests(config, spec),
    ],
  };
}
