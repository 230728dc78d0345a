import { baseEnvEntries, envField } from "@minispod/shared";
import * as v from "valibot";

/** Where activated instances live; billing reads these too, as it can activate subscriptions. */
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

export const subscriptionsEnvSchema = v.object({
  ...baseEnvEntries,
  ...instanceEnvEntries,
  ...paymentEnvEntries,
  /** Days an EXPIRED subscription may still be renewed (its data is kept that long). */
  SUBSCRIPTION_RETENTION_DAYS: envField.int(30, 0, 3650),
});
export type SubscriptionsEnv = v.InferOutput<typeof subscriptionsEnvSchema>;
