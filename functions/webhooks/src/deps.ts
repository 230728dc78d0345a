import type { FunctionContext } from "@minispod/shared";
import {
  type DeliveryConfig,
  type Resolver,
  type WebhookSender,
  webhookDeliveryConfig,
} from "@minispod/shared/webhooks/index";
import type { WebhooksEnv } from "./env";

export interface WebhooksDeps extends FunctionContext<WebhooksEnv> {
  /** Tests point hostnames at chosen addresses; production uses the system resolver. */
  resolver?: Resolver;
  sender?: WebhookSender;
}

/** Test pings and redeliveries send exactly as the dispatcher does. */
export const deliveryConfig = (deps: WebhooksDeps): DeliveryConfig =>
  webhookDeliveryConfig(deps, { resolver: deps.resolver, sender: deps.sender });
