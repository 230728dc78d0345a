import type { PaymentProvider } from "@minispod/billing/payments";
import type { Db } from "@minispod/db";
import type { BaseEnv, EventSender, FunctionContext, Logger, Metrics } from "@minispod/shared";

export interface BillingSettings {
  /** Customer namespaces are `<prefix><user id>`. */
  namespacePrefix: string;
  /** Instances answer at `<object name>.<domain>`. */
  clusterDomain: string;
  /** Days an EXPIRED subscription may still be renewed. */
  retentionDays: number;
  /** Dunning retries, in days after the period's end, ascending; the last one ends the grace. */
  dunningDays: number[];
}

/**
 * What the subscription services need. A handler, an event consumer or a
 * sweep builds it from its function context.
 */
export interface BillingContext {
  db: Db;
  now: () => Date;
  logger: Logger;
  /** The calling function's metrics: settling counts `minispod_payments_settled_total`. */
  metrics: Metrics;
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
  BILLING_DUNNING_DAYS: number[];
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
    metrics: deps.metrics,
    events: deps.events,
    provider: deps.provider,
    source: deps.name,
    settings: billingSettingsOf(deps.env),
  };
}

// One actor type for every function (the kernel's), re-exported for the services' callers.
export { type Actor, canReach, systemActor } from "@minispod/shared";

/** The billing rules' settings from a function's parsed env (`billingEnvEntries`). */
export function billingSettingsOf(env: BillingEnvFields): BillingSettings {
  return {
    namespacePrefix: env.K8S_NAMESPACE_PREFIX,
    clusterDomain: env.K8S_CLUSTER_DOMAIN,
    retentionDays: env.SUBSCRIPTION_RETENTION_DAYS,
    dunningDays: env.BILLING_DUNNING_DAYS,
  };
}
