import { envField } from "@minispod/shared";
import * as v from "valibot";

/** Where activated instances live: every function that can activate a subscription reads these. */
export const instanceEnvEntries = {
  /** Customer namespaces are `<prefix><user id>`. */
  K8S_NAMESPACE_PREFIX: v.optional(
    v.pipe(v.string(), v.regex(/^[a-z0-9]([a-z0-9-]*)$/, "must be a DNS label prefix")),
    "customer-",
  ),
  /** Instances answer at `<object name>.<domain>`. */
  K8S_CLUSTER_DOMAIN: v.optional(
    v.pipe(v.string(), v.regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, "must be a DNS domain")),
    "apps.localhost",
  ),
};

/** The payment provider: the sandbox unless PAYMENT_GATEWAY_URL names a gateway. */
export const paymentEnvEntries = {
  PAYMENT_GATEWAY_URL: v.optional(envField.url()),
  PAYMENT_API_KEY: v.optional(v.string()),
  /** Longest wait for the gateway's answer; after it the outcome is unknown and reconciled later. */
  PAYMENT_TIMEOUT: envField.duration("15s"),
};

/**
 * What `billingContextOf` reads: instance placement plus the retention window.
 * Spread into a function's env schema next to `baseEnvEntries`.
 *
 * @example
 * export const envSchema = v.object({ ...baseEnvEntries, ...billingEnvEntries, ...paymentEnvEntries });
 */
export const billingEnvEntries = {
  ...instanceEnvEntries,
  /** Days an EXPIRED subscription may still be renewed (its data is kept that long). */
  SUBSCRIPTION_RETENTION_DAYS: envField.int(30, 0, 3650),
};
