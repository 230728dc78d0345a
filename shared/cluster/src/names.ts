import type { ClusterConfig } from "./config";
import type { InstanceRef } from "./port";

/** Labels every object we create carries; the sweep selects on them. */
export const labels = {
  managedBy: "app.kubernetes.io/managed-by",
  customer: "minispod.dev/customer",
  instance: "minispod.dev/instance",
  app: "minispod.dev/app",
} as const;

export const MANAGED_BY = "minispod";
/** The one field manager every server-side apply is made under. */
export const FIELD_MANAGER = "minispod-provisioner";

/** `${K8S_NAMESPACE_PREFIX}<customer id>`, as PRODUCT.md names it. */
export const namespaceName = (config: Pick<ClusterConfig, "namespacePrefix">, customerId: string) =>
  `${config.namespacePrefix}${customerId}`;

/**
 * Name of all of an instance's objects. The "i-" keeps it a valid DNS-1035
 * label (Service names must start with a letter; a uuid may not).
 */
export const instanceName = (instanceId: string) => `i-${instanceId}`;

export const instanceHost = (config: Pick<ClusterConfig, "clusterDomain">, instanceId: string) =>
  `${instanceName(instanceId)}.${config.clusterDomain}`;

export const instanceUrl = (config: Pick<ClusterConfig, "clusterDomain">, instanceId: string) =>
  `https://${instanceHost(config, instanceId)}`;

/** Object names for one instance, in one place so drivers agree. */
export const instanceObjects = (config: ClusterConfig, ref: InstanceRef) => ({
  namespace: namespaceName(config, ref.customerId),
  name: instanceName(ref.instanceId),
  host: instanceHost(config, ref.instanceId),
  url: instanceUrl(config, ref.instanceId),
});
