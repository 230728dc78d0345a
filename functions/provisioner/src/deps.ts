import type { ClusterPort } from "@minispod/cluster";
import type { DomainResolver } from "@minispod/instances";
import type { FunctionContext } from "@minispod/shared";
import type { ProvisionerEnv } from "./env";

/** What the function is built from: `main.ts` makes it once, tests make their own. */
export interface ProvisionerDeps extends FunctionContext<ProvisionerEnv> {
  cluster: ClusterPort;
  /** Looks up custom domains' TXT records; default: DNS_RESOLVERS (or the system's). */
  resolver?: DomainResolver | undefined;
}
