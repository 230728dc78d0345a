import { mergeConfig } from "vitest/config";
import { projectConfig } from "../../vitest.shared.ts";

// Cluster tests wait on controllers (rollouts, quota, pod security) of a real
// API server that shares two cores with the rest of the suite.
export default mergeConfig(projectConfig("cluster"), { test: { testTimeout: 60_000 } });
