import type { FunctionDefinition } from "@minispod/shared";
import { createApp } from "./app";
import { type DispatcherEnv, dispatcherEnvSchema } from "./env";

/** webhook-dispatcher: fans customer-facing events out to webhook endpoints and retries failures. */
export const webhookDispatcherFunction: FunctionDefinition<DispatcherEnv> = {
  name: "webhook-dispatcher",
  // Reached only by the broker and the PingSource, never through the public API.
  routes: [],
  envSchema: dispatcherEnvSchema,
  create: (ctx) => createApp(ctx),
};
