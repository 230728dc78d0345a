import type { Logger } from "@minispod/shared";
import { baseEnvEntries, envField } from "@minispod/shared";
import type { Registry } from "prom-client";
import * as v from "valibot";
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

/**
 * The env schema of a function that sends webhooks: the base and `WEBHOOK_*`
 * entries plus its own, with the guard that refuses WEBHOOK_ALLOW_PRIVATE in
 * production. `entries` stays alongside the pipe, because `parseEnv` reads it.
 *
 * @example
 * export const myEnvSchema = webhookFunctionEnvSchema({ MY_LIMIT: envField.int(5) });
 */
export function webhookFunctionEnvSchema<E extends v.ObjectEntries>(extra: E) {
  const entries = { ...baseEnvEntries, ...webhookEnvEntries, ...extra };
  const schema = v.pipe(
    v.object(entries),
    // The SSRF guard cannot be switched off in production: any customer's
    // webhook could then reach the cluster's internal addresses.
    v.check(
      (env) =>
        (env as { NODE_ENV: string }).NODE_ENV !== "production" ||
        !(env as { WEBHOOK_ALLOW_PRIVATE: boolean }).WEBHOOK_ALLOW_PRIVATE,
      "WEBHOOK_ALLOW_PRIVATE must not be true when NODE_ENV=production: it turns the SSRF guard off (local development only)",
    ),
  );
  return Object.assign(schema, { entries });
}
