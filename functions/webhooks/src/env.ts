import { envField } from "@minispod/shared";
import { webhookFunctionEnvSchema } from "@minispod/webhooks";
import type * as v from "valibot";

export const webhooksEnvSchema = webhookFunctionEnvSchema({
  /** Endpoints one customer may have; stops one account from fanning every event out a thousand times. */
  WEBHOOK_MAX_ENDPOINTS: envField.int(20, 1, 1000),
  /** Test pings plus redeliveries per customer per hour: each one is a request to a third party. */
  WEBHOOK_MANUAL_SEND_LIMIT: envField.int(60, 1, 10_000),
});
export type WebhooksEnv = v.InferOutput<typeof webhooksEnvSchema>;
