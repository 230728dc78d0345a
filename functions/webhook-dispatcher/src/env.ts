import { envField } from "@minispod/shared";
import { webhookFunctionEnvSchema } from "@minispod/webhooks";
import type * as v from "valibot";

export const dispatcherEnvSchema = webhookFunctionEnvSchema({
  /** Most due deliveries one retry sweep claims. */
  WEBHOOK_RETRY_BATCH: envField.int(100, 1, 1000),
  /** Deliveries sent at the same time by one sweep or one event. */
  WEBHOOK_CONCURRENCY: envField.int(8, 1, 64),
});
export type DispatcherEnv = v.InferOutput<typeof dispatcherEnvSchema>;
