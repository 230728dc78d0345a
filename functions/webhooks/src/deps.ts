import { type FunctionContext, rateLimit } from "@minispod/shared";
import {
  type DeliveryConfig,
  type Resolver,
  type WebhookSender,
  webhookDeliveryConfig,
} from "@minispod/webhooks";
import type { WebhooksEnv } from "./env";

export interface WebhooksDeps extends FunctionContext<WebhooksEnv> {
  /** Tests point hostnames at chosen addresses; production uses the system resolver. */
  resolver?: Resolver;
  sender?: WebhookSender;
}

/** Test pings and redeliveries send exactly as the dispatcher does. */
export const deliveryConfig = (deps: WebhooksDeps): DeliveryConfig =>
  webhookDeliveryConfig(deps, { resolver: deps.resolver, sender: deps.sender });

/**
 * Caps test pings and redeliveries per customer, so the API cannot be used to
 * hammer someone else's server. Goes after `requireAuth`.
 */
export const manualSendLimit = (deps: WebhooksDeps) =>
  rateLimit(deps.limiter, {
    name: "webhooks:manual-send",
    limit: deps.env.WEBHOOK_MANUAL_SEND_LIMIT,
    windowSeconds: 3600,
    key: (c) => c.get("auth").userId,
  });
