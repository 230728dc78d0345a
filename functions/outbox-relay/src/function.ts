import type { FunctionDefinition } from "@minispod/shared";
import { createApp } from "./app";
import { type OutboxRelayEnv, outboxRelayEnvSchema } from "./env";

/** outbox-relay: publishes outbox rows left unsent, and stores dead-lettered events. */
export const outboxRelayFunction: FunctionDefinition<OutboxRelayEnv> = {
  name: "outbox-relay",
  routes: [],
  envSchema: outboxRelayEnvSchema,
  create: (ctx) => createApp(ctx),
};
