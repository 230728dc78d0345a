import { baseEnvEntries, envField } from "@minispod/shared";
import { webhookEnvEntries } from "@minispod/shared/webhooks/index";
import * as v from "valibot";

const entries = {
  ...baseEnvEntries,
  ...webhookEnvEntries,
  /** Most due deliveries one retry sweep claims. */
  WEBHOOK_RETRY_BATCH: envField.int(100, 1, 1000),
  /** Deliveries sent at the same time by one sweep or one event. */
  WEBHOOK_CONCURRENCY: envField.int(8, 1, 64),
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
export const dispatcherEnvSchema = Object.assign(schema, { entries });
export type DispatcherEnv = v.InferOutput<typeof schema>;
