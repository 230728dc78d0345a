import { createHash } from "node:crypto";
import type { ClusterConfig } from "./config";
import type { AppliedInstance, AppSpec, InstanceRef } from "./port";

/** Labels every object we create carries; the sweep selects on them. */
export const labels = {
  managedBy: "app.kubernetes.io/managed-by",
  customer: "minispod.dev/customer",
  instance: "minispod.dev/instance",
  app: "minispod.dev/app",
} as const;

export const MANAGED_BY = "minispod";

/**
 * Annotation on an instance's Deployment: the hash of the AppSpec it was
 * applied from, so the reconcile sweep finds the instances a catalog change
 * has not reached yet (see `specHash`).
 */
export const SPEC_HASH_ANNOTATION = "minispod.dev/spec-hash";

/** JSON with object keys sorted at every depth: equal specs give equal text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * A short, stable fingerprint of what the catalog says about an app (image,
 * tag, port, env, resources, probe, security). Key order and absent keys do
 * not change it; any value that changes the workload does.
 */
export const specHash = (app: AppSpec) =>
  createHash("sha256").update(canonical(app)).digest("hex").slice(0, 16);
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

/**
 * The PVC of one volume generation: generation 0 is named like the instance,
 * a restore creates the next one (`i-<id>-g1`, ...) beside the current one.
 */
export const volumeName = (instanceId: string, generation = 0) =>
  generation === 0 ? instanceName(instanceId) : `${instanceName(instanceId)}-g${generation}`;

/** The label on our VolumeSnapshots naming the backup (their name is `b-<backup id>`). */
export const snapshotName = (backupId: string) => `b-${backupId}`;

export const instanceHost = (config: Pick<ClusterConfig, "clusterDomain">, instanceId: string) =>
  `${instanceName(instanceId)}.${config.clusterDomain}`;

export const instanceUrl = (config: Pick<ClusterConfig, "clusterDomain">, instanceId: string) =>
  `https://${instanceHost(config, instanceId)}`;

/** Object names for one instance, in one place so drivers agree. */
export const instanceObjects = (
  config: Pick<ClusterConfig, "namespacePrefix" | "clusterDomain">,
  ref: InstanceRef,
) => ({
  namespace: namespaceName(config, ref.customerId),
  name: instanceName(ref.instanceId),
  host: instanceHost(config, ref.instanceId),
  url: instanceUrl(config, ref.instanceId),
});

/**
 * Where an instance lives, in the words of its database row
 * (`service_instances`: namespace, object_name, host, url).
 */
export const placementOf = (objects: AppliedInstance) => ({
  namespace: objects.namespace,
  objectName: objects.name,
  host: objects.host,
  url: objects.url,
});
