import type { FunctionDefinition } from "@minispod/shared";
import { createApp } from "./app";
import { type WebhooksEnv, webhooksEnvSchema } from "./env";

/** webhooks: customers' webhook endpoints, their delivery log, redeliveries and test pings. */
export const webhooksFunction: FunctionDefinition<WebhooksEnv> = {
  name: "webhooks",
  routes: ["/api/v1/webhooks"],
  envSchema: webhooksEnvSchema,
  create: (ctx) => createApp(ctx),
};
