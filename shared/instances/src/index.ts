export { clusterFromEnv } from "./cluster";
export {
  CLUSTER_IN_PRODUCTION,
  clusterAllowed,
  clusterEnvEntries,
} from "./env";
export {
  countFailures,
  declareInstanceMetrics,
} from "./metrics";
export {
  appSpecOf,
  type InstanceRecord,
  loadRecord,
  namespaceSpecOf,
  refOf,
  selectRecords,
} from "./spec";
export {
  observedTransition,
  recordTransition,
  syncObserved,
  type Transition,
} from "./status";
