import type { Db } from "@minispod/db";
import type { BaseEnv, EventSender, FunctionContext, Logger } from "@minispod/shared";
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

/** The env a function needs to run the subscription services (subscriptions, billing, sweeps). */
export interface BillingEnvFields extends BaseEnv {
  K8S_NAMESPACE_PREFIX: string;
  K8S_CLUSTER_DOMAIN: string;
  SUBSCRIPTION_RETENTION_DAYS: number;
}

/**
 * The services' view of a function's dependencies.
 *
 * @example
 * const ctx = billingContextOf({ ...deps, provider });
 * await renew({ ctx, actor: systemActor, input: { subscriptionId } });
 */
export function billingContextOf(
  deps: FunctionContext<BillingEnvFields> & { provider: PaymentProvider },
): BillingContext {
  return {
    db: deps.db,
    now: deps.now,
    logger: deps.logger,
    events: deps.events,
    provider: deps.provider,
    source: deps.name,
    settings: {
      namespacePrefix: deps.env.K8S_NAMESPACE_PREFIX,
      clusterDomain: deps.env.K8S_CLUSTER_DOMAIN,
      retentionDays: deps.env.SUBSCRIPTION_RETENTION_DAYS,
    },
  };
}

// One actor type for every function (the kernel's), re-exported for the services' callers.
export { type Actor, canReach, systemActor } from "@minispod/shared";
