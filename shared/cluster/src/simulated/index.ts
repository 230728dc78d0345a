export { SIMULATED_CERT_FAILURE_LABEL, simulatedIssueMs } from "./domains";
export {
  createSimulatedCluster,
  type SimulatedCluster,
  type SimulatedClusterOptions,
} from "./driver";
export {
  FAULT_ENV,
  isSimulatedFault,
  SIMULATED_FAULTS,
  type SimulatedFault,
} from "./faults";
