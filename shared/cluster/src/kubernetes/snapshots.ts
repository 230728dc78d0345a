import type {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObject,
  StorageV1Api,
} from "@kubernetes/client-node";
import type { ClusterConfig } from "../config";
import { instanceLabels } from "../manifests/instance";
import { bytes } from "../manifests/quantities";
import { labels, MANAGED_BY, namespaceName, volumeName } from "../names";
import type {
  ClusterPort,
  CreateSnapshotSpec,
  InstanceRef,
  SnapshotRef,
  SnapshotStatus,
  SnapshotSupport,
} from "../port";

/** The CSI snapshot API group (external-snapshotter's CRDs). */
export const SNAPSHOT_GROUP = "snapshot.storage.k8s.io";
export const SNAPSHOT_VERSION = "v1";
const DEFAULT_STORAGE_CLASS = "storageclass.kubernetes.io/is-default-class";
const DEFAULT_SNAPSHOT_CLASS = "snapshot.storage.kubernetes.io/is-default-class";

export interface SnapshotDriverDeps {
  config: ClusterConfig;
  apps: AppsV1Api;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  storage: StorageV1Api;
  call: <T>(what: string, fn: () => Promise<T>) => Promise<T>;
  orNull: <T>(promise: Promise<T>) => Promise<T | null>;
  apply: (object: KubernetesObject) => Promise<KubernetesObject>;
}

interface SnapshotObject {
  metadata?: { name?: string; deletionTimestamp?: string };
  status?: {
    readyToUse?: boolean;
    restoreSize?: string;
    error?: { message?: string };
  };
}

interface SnapshotClassObject {
  metadata?: { name?: string; annotations?: Record<string, string> };
  driver?: string;
}

type SnapshotMethods = Pick<
  ClusterPort,
  | "snapshotSupport"
  | "createSnapshot"
  | "readSnapshot"
  | "deleteSnapshot"
  | "deleteVolume"
  | "deleteNamespaceIfEmpty"
>;

/** "1Gi" or "1073741824" -> bytes; null when absent or unreadable. */
function sizeOf(quantity: string | undefined): number | null {
  if (!quantity) return null;
  try {
    return bytes(quantity);
  } catch {
    return null;
  }
}

/** What the snapshot's status says, in plain words. */
export function describeSnapshot(name: string, object: SnapshotObject | null): SnapshotStatus {
  if (!object)
    return { name, phase: "missing", sizeBytes: null, reason: "not found in the cluster" };
  const status = object.status ?? {};
  const sizeBytes = sizeOf(status.restoreSize);
  if (status.error?.message) {
    return { name, phase: "failed", sizeBytes, reason: status.error.message };
  }
  if (status.readyToUse === true) return { name, phase: "ready", sizeBytes, reason: "ready" };
  return { name, phase: "pending", sizeBytes, reason: "being taken" };
}

/**
 * The backup half of the kubernetes driver: VolumeSnapshots
 * (`snapshot.storage.k8s.io/v1`) of instance volumes, the preflight that
 * matches the StorageClass's provisioner to a VolumeSnapshotClass's driver,
 * and the volume generations a restore creates.
 */
export function snapshotMethods(deps: SnapshotDriverDeps): SnapshotMethods & {
  /** Whether the namespace still holds one of our VolumeSnapshots (the namespace is then kept). */
  hasSnapshots(namespace: string): Promise<boolean>;
} {
  const { config, apps, core, custom, storage, call, orNull, apply } = deps;
  const plural = "volumesnapshots";
  const group = { group: SNAPSHOT_GROUP, version: SNAPSHOT_VERSION };

  const hasSnapshots = async (namespace: string) => {
    // No snapshot CRDs (404): no snapshot can exist either.
    const list = (await orNull(
      call(`list VolumeSnapshots in ${namespace}`, () =>
        custom.listNamespacedCustomObject({
          ...group,
          namespace,
          plural,
          labelSelector: `${labels.managedBy}=${MANAGED_BY}`,
          limit: 1,
        }),
      ),
    )) as { items?: unknown[] } | null;
    return (list?.items?.length ?? 0) > 0;
  };

  return {
    hasSnapshots,

    async snapshotSupport(): Promise<SnapshotSupport> {
      let className = config.storageClassName ?? null;
      let provisioner: string | null = null;
      if (className) {
        const sc = await orNull(
          call(`read StorageClass ${className}`, () =>
            storage.readStorageClass({ name: className as string }),
          ),
        );
        if (!sc) {
          return {
            supported: false,
            storageClass: className,
            provisioner: null,
            snapshotClass: null,
            reason: `the storage class ${className} (K8S_STORAGE_CLASS) does not exist`,
          };
        }
        provisioner = sc.provisioner;
      } else {
        const all = await call("list StorageClasses", () => storage.listStorageClass({}));
        const def = all.items.find(
          (sc) => sc.metadata?.annotations?.[DEFAULT_STORAGE_CLASS] === "true",
        );
        if (!def) {
          return {
            supported: false,
            storageClass: null,
            provisioner: null,
            snapshotClass: null,
            reason: "the cluster has no default storage class and K8S_STORAGE_CLASS is not set",
          };
        }
        className = def.metadata?.name ?? null;
        provisioner = def.provisioner;
      }
      const classes = (await orNull(
        call("list VolumeSnapshotClasses", () =>
          custom.listClusterCustomObject({ ...group, plural: "volumesnapshotclasses" }),
        ),
      )) as { items?: SnapshotClassObject[] } | null;
      if (classes === null) {
        return {
          supported: false,
          storageClass: className,
          provisioner,
          snapshotClass: null,
          reason:
            "the cluster has no VolumeSnapshot API (install the snapshot CRDs and snapshot-controller)",
        };
      }
      const matching = (classes.items ?? []).filter((c) => c.driver === provisioner);
      const chosen =
        matching.find((c) => c.metadata?.annotations?.[DEFAULT_SNAPSHOT_CLASS] === "true") ??
        matching[0];
      if (!chosen) {
        return {
          supported: false,
          storageClass: className,
          provisioner,
          snapshotClass: null,
          reason: `the storage class ${className} (${provisioner}) cannot take snapshots: no VolumeSnapshotClass has its driver`,
        };
      }
      return {
        supported: true,
        storageClass: className,
        provisioner,
        snapshotClass: chosen.metadata?.name ?? null,
        reason: "snapshots supported",
      };
    },

    async createSnapshot(spec: CreateSnapshotSpec) {
      const namespace = namespaceName(config, spec.customerId);
      await apply({
        apiVersion: `${SNAPSHOT_GROUP}/${SNAPSHOT_VERSION}`,
        kind: "VolumeSnapshot",
        metadata: { name: spec.name, namespace, labels: instanceLabels(spec) },
        spec: {
          ...(spec.snapshotClass ? { volumeSnapshotClassName: spec.snapshotClass } : {}),
          source: { persistentVolumeClaimName: volumeName(spec.instanceId, spec.volumeGeneration) },
        },
      } as KubernetesObject);
    },

    async readSnapshot(ref: SnapshotRef) {
      const namespace = namespaceName(config, ref.customerId);
      const object = (await orNull(
        call(`read VolumeSnapshot ${namespace}/${ref.name}`, () =>
          custom.getNamespacedCustomObject({ ...group, namespace, plural, name: ref.name }),
        ),
      )) as SnapshotObject | null;
      return describeSnapshot(ref.name, object);
    },

    async deleteSnapshot(ref: SnapshotRef) {
      const namespace = namespaceName(config, ref.customerId);
      await orNull(
        call(`delete VolumeSnapshot ${namespace}/${ref.name}`, () =>
          custom.deleteNamespacedCustomObject({ ...group, namespace, plural, name: ref.name }),
        ),
      );
    },

    async deleteVolume(ref: InstanceRef, generation: number) {
      const namespace = namespaceName(config, ref.customerId);
      const name = volumeName(ref.instanceId, generation);
      const deleted = await orNull(
        call(`delete PersistentVolumeClaim ${namespace}/${name}`, () =>
          core.deleteNamespacedPersistentVolumeClaim({ name, namespace }),
        ),
      );
      // The answer is the claim as the delete left it: still holding finalizers (pvc-protection
      // while a pod mounts it) means it stays, and counts in the quota, until they are done.
      return { gone: deleted === null || !deleted.metadata?.finalizers?.length };
    },

    async deleteNamespaceIfEmpty(customerId: string) {
      const namespace = namespaceName(config, customerId);
      const left = await orNull(
        call(`list Deployments in ${namespace}`, () =>
          apps.listNamespacedDeployment({
            namespace,
            labelSelector: `${labels.managedBy}=${MANAGED_BY}`,
            limit: 1,
          }),
        ),
      );
      if (left === null || left.items.length > 0) return { namespaceDeleted: false };
      if (await hasSnapshots(namespace)) return { namespaceDeleted: false };
      const gone = await orNull(
        call(`delete Namespace ${namespace}`, () =>
          core.deleteNamespace({ name: namespace, propagationPolicy: "Background" }),
        ),
      );
      return { namespaceDeleted: gone !== null };
    },
  };
}
