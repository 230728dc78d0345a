export {
  type ClusterConfig,
  defaultClusterConfig,
} from "./config";
export {
  FIELD_MANAGER,
  instanceObjects,
  namespaceName,
  placementOf,
  specHash,
} from "./names";
export {
  type AppliedInstance,
  type AppSpec,
  ClusterError,
  type ClusterEvent,
  type ClusterPort,
  type InstancePhase,
  type InstanceRef,
  type InstanceSpec,
  type InstanceStatus,
  isClusterError,
  type NamespaceSpec,
} from "./port";
