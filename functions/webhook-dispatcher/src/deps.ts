import type { FunctionContext } from "@minispod/shared";
import {
  type DeliveryConfig,
  type Resolver,
  type WebhookSender,
  webhookDeliveryConfig,
} from "@minispod/webhooks";
import type { DispatcherEnv } from "./env";

export interface DispatcherDeps extends FunctionContext<DispatcherEnv> {
  /** Tests point hostnames at chosen addresses; production uses the system resolver. */
  resolver?: Resolver;
  sender?: WebhookSender;
}

export const deliveryConfig = (deps: DispatcherDeps): DeliveryConfig =>
  webhookDeliveryConfig(deps, { resolver: deps.resolver, sender: deps.sender });

/**
 * Seconds a delivery stays invisible to other sweeps once claimed: long enough
 * for the slowest sweep to reach and finish it (a full batch, `concurrency` at
 * a time, each attempt up to its timeout) plus room to record it, so the next
 * minute's sweep never sends it a second time.
 */
export const leaseSeconds = (deps: DispatcherDeps): number => {
  const rounds = Math.ceil(deps.env.WEBHOOK_RETRY_BATCH / deps.env.WEBHOOK_CONCURRENCY);
  return rounds * Math.ceil(deps.env.WEBHOOK_TIMEOUT / 1000) + 60;
};
