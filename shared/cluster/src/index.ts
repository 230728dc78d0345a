export {
  type ClusterConfig,
  defaultClusterConfig,
} from "./config";
export {
  FIELD_MANAGER,
  instanceObjects,
  namespaceName,
  placementOf,
  snapshotName,
  specHash,
  volumeName,
} from "./names";
export {
  type AppliedInstance,
  type AppSpec,
  ClusterError,
  type ClusterEvent,
  type ClusterPort,
  type CreateSnapshotSpec,
  type InstancePhase,
  type InstanceRef,
  type InstanceSpec,
  type InstanceStatus,
  isClusterError,
  type NamespaceSpec,
  type SnapshotPhase,
  type SnapshotRef,
  type SnapshotStatus,
  type SnapshotSupport,
  type VolumeSpec,
} from "./port";
