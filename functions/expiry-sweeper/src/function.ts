import type { FunctionDefinition } from "@minispod/shared";
import { createApp } from "./app";
import { type ExpirySweeperEnv, expirySweeperEnvSchema } from "./env";

/** expiry-sweeper: reminders before a period ends, expiry after it, purge after retention. */
export const expirySweeperFunction: FunctionDefinition<ExpirySweeperEnv> = {
  name: "expiry-sweeper",
  routes: [],
  envSchema: expirySweeperEnvSchema,
  create: (ctx) => createApp(ctx),
};
