import type { ClusterPort } from "@minispod/cluster";
import type { Db } from "@minispod/db";
import type { Logger, UserActor } from "@minispod/shared";

export { canReach } from "@minispod/shared";

export interface InstancesContext {
  db: Db;
  cluster: ClusterPort;
  logger: Logger;
  now: () => Date;
  /** The CloudEvent source of what on-demand reads record. */
  source: string;
  provisionTimeoutMs: number;
}

/** The signed-in caller (the shared actor type, so audit rows read alike). */
export type Actor = UserActor;
