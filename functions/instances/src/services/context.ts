import type { ClusterPort } from "@minispod/cluster";
import type { Db, UserRole } from "@minispod/db";
import type { Logger } from "@minispod/shared";
import { isAdmin } from "@minispod/shared";

export interface InstancesContext {
  db: Db;
  cluster: ClusterPort;
  logger: Logger;
  now: () => Date;
  /** The CloudEvent source of what on-demand reads record. */
  source: string;
  provisionTimeoutMs: number;
}

/** The signed-in caller. */
export interface Actor {
  id: string;
  role: UserRole;
}

/** Customers reach only their own instances; admins reach all. */
export const canReach = (actor: Actor, ownerId: string) =>
  isAdmin(actor.role) || actor.id === ownerId;
