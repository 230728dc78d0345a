import { baseEnvEntries, envField } from "@minispod/shared";
import { webhookEnvEntries } from "@minispod/shared/webhooks/index";
import * as v from "valibot";

const entries = {
  ...baseEnvEntries,
  ...webhookEnvEntries,
  /** Endpoints one customer may have; stops one account from fanning every event out a thousand times. */
  WEBHOOK_MAX_ENDPOINTS: envField.int(20, 1, 1000),
  /** Test pings plus redeliveries per customer per hour: each one is a request to a third party. */
  WEBHOOK_MANUAL_SEND_LIMIT: envField.int(60, 1, 10_000),
};

const schema = v.pipe(
  v.object(entries),
  // The SSRF guard cannot be switched off in production: any customer's
  // webhook could then reach the cluster's internal addresses.
  v.forward(
    v.partialCheck(
      [["NODE_ENV"], ["WEBHOOK_ALLOW_PRIVATE"]],
      (env) => env.NODE_ENV !== "production" || !env.WEBHOOK_ALLOW_PRIVATE,
      "must not be true when NODE_ENV=production: it turns the SSRF guard off (local development only)",
    ),
    ["WEBHOOK_ALLOW_PRIVATE"],
  ),
);

/** A pipe (for the production guard) keeps `entries` alongside, because `parseEnv` reads it. */
export const webhooksEnvSchema = Object.assign(schema, { entries });
export type WebhooksEnv = v.InferOutput<typeof schema>;
