import type { ClusterPort } from "@minispod/cluster";
import type { FunctionContext } from "@minispod/shared";
import type { InstancesEnv } from "./env";

/** What the function is built from: `main.ts` makes it once, tests make their own. */
export interface InstancesDeps extends FunctionContext<InstancesEnv> {
  cluster: ClusterPort;
}
