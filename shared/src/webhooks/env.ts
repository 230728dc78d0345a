import type { Registry } from "prom-client";
import { envField } from "../env";
import type { Logger } from "../logger";
import type { DeliveryConfig } from "./delivery";
import { webhookMetrics } from "./metrics";
import type { WebhookSender } from "./send";
import type { Resolver } from "./ssrf";

/**
 * `WEBHOOK_*` settings both webhook functions read (the API sends test pings
 * and manual redeliveries through the same path as the dispatcher). Spread
 * into a function's env schema.
 */
export const webhookEnvEntries = {
  /** Milliseconds one delivery attempt may take, DNS lookup to last byte. */
  WEBHOOK_TIMEOUT: envField.int(10_000, 100, 60_000),
  /** Local development only: allow http:// and private, loopback and link-local destinations. */
  WEBHOOK_ALLOW_PRIVATE: envField.bool(false),
  /** An endpoint failing without a single success for this long is disabled. */
  WEBHOOK_DISABLE_AFTER: envField.duration("5d"),
  /** How long the previous secret keeps signing after a rotation. */
  WEBHOOK_SECRET_ROTATION_OVERLAP: envField.duration("24h"),
};

interface WebhookEnv {
  WEBHOOK_TIMEOUT: number;
  WEBHOOK_ALLOW_PRIVATE: boolean;
  WEBHOOK_DISABLE_AFTER: number;
}

/**
 * The sending configuration from a function's context, so the API and the
 * dispatcher send exactly alike.
 *
 * @example
 * const config = webhookDeliveryConfig(ctx, { resolver });
 */
export function webhookDeliveryConfig(
  ctx: { env: WebhookEnv; name: string; logger: Logger; metrics: { registry: Registry } },
  overrides: { resolver?: Resolver | undefined; sender?: WebhookSender | undefined } = {},
): DeliveryConfig {
  return {
    timeoutMs: ctx.env.WEBHOOK_TIMEOUT,
    allowPrivate: ctx.env.WEBHOOK_ALLOW_PRIVATE,
    disableAfterSeconds: ctx.env.WEBHOOK_DISABLE_AFTER,
    source: ctx.name,
    logger: ctx.logger,
    metrics: webhookMetrics(ctx.metrics.registry),
    ...(overrides.resolver ? { resolver: overrides.resolver } : {}),
    ...(overrides.sender ? { sender: overrides.sender } : {}),
  };
}
