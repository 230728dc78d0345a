import type { FunctionContext } from "@minispod/shared";
import {
  type DeliveryConfig,
  type Resolver,
  type WebhookSender,
  webhookDeliveryConfig,
} from "@minispod/shared/webhooks/index";
import type { DispatcherEnv } from "./env";

export interface DispatcherDeps extends FunctionContext<DispatcherEnv> {
  /** Tests point hostnames at chosen addresses; production uses the system resolver. */
  resolver?: Resolver;
  sender?: WebhookSender;
}

export const deliveryConfig = (deps: DispatcherDeps): DeliveryConfig =>
  webhookDeliveryConfig(deps, { resolver: deps.resolver, sender: deps.sender });

/**
 * Seconds a delivery stays invisible to other sweeps while one attempt is in
 * flight: the attempt's own timeout plus room to record it.
 */
export const leaseSeconds = (deps: DispatcherDeps): number =>
  Math.ceil(deps.env.WEBHOOK_TIMEOUT / 1000) + 60;
