import type { Db, UserRole } from "@minispod/db";
import { type EventSender, isAdmin, type Logger } from "@minispod/shared";
import type { PaymentProvider } from "@minispod/shared/payments";

export interface BillingSettings {
  /** Customer namespaces are `<prefix><user id>`. */
  namespacePrefix: string;
  /** Instances answer at `<object name>.<domain>`. */
  clusterDomain: string;
  /** Days an EXPIRED subscription may still be renewed. */
  retentionDays: number;
}

/**
 * What the subscription services need. A handler, an event consumer or a
 * sweep builds it from its function context.
 */
export interface BillingContext {
  db: Db;
  now: () => Date;
  logger: Logger;
  /** Sends the outbox rows a service wrote, after its commit. */
  events: EventSender;
  provider: PaymentProvider;
  /** `source` of emitted events: the calling function's name. */
  source: string;
  settings: BillingSettings;
}

/** Who acts: a signed-in user, or the platform itself (sweeps, provider callbacks). */
export type Actor = { id: string; role: UserRole } | { id: null; role: "SYSTEM" };

export const systemActor: Actor = { id: null, role: "SYSTEM" };

/** Customers reach only their own things; admins and the platform reach all. */
export function canReach(actor: Actor, ownerId: string): boolean {
  return actor.role === "SYSTEM" || isAdmin(actor.role) || actor.id === ownerId;
}
