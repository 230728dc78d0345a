export {
  createKubernetesCluster,
  type KubernetesCluster,
  type KubernetesClusterOptions,
  loadKubeConfig,
  manifestsOf,
  RequestTimeoutError,
} from "./driver";
export {
  type Classified,
  classify,
} from "./errors";
export {
  defaultRetryPolicy,
  type RetryPolicy,
  withRetries,
} from "./retry";
export { describeSnapshot, SNAPSHOT_GROUP, SNAPSHOT_VERSION } from "./snapshots";
export {
  describeInstance,
  secretIsMissing,
  toClusterEvent,
} from "./status";
