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
  type CertificateState,
  type ClusterDomains,
  ClusterError,
  type ClusterEvent,
  type ClusterPort,
  type DomainRoute,
  type InstancePhase,
  type InstanceRef,
  type InstanceSpec,
  type InstanceStatus,
  isClusterError,
  type NamespaceSpec,
} from "./port";
