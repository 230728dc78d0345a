/**
 * Outbound webhooks: signing, the SSRF-guarded sender and the attempt
 * bookkeeping shared by the webhooks API (test pings, redeliveries) and the
 * webhook-dispatcher (fan-out, retries). Import from "@minispod/webhooks".
 */

export {
  type AttemptRow,
  attemptDelivery,
  type DeliveryConfig,
  type DeliveryRow,
  DISABLED_NOT_SENT,
  type EndpointRow,
} from "./delivery";
export {
  webhookDeliveryConfig,
  webhookFunctionEnvSchema,
} from "./env";
export {
  newMessageId,
  PING_TYPE,
  RETRY_SCHEDULE_SECONDS,
  type WebhookMessage,
} from "./message";
export {
  sendWebhookRequest,
  type WebhookSender,
} from "./send";
export {
  generateWebhookSecret,
  signWebhook,
} from "./signing";
export {
  bareHostname,
  isForbiddenAddress,
  type Resolver,
  resolveSafeAddress,
} from "./ssrf";
