import type { FunctionDefinition } from "@minispod/shared";
import { createApp } from "./app";
import { type AdminEnv, adminEnvSchema } from "./env";

/** admin: operators' side: users, roles, disabling, all subscriptions, stats, the audit log. */
export const adminFunction: FunctionDefinition<AdminEnv> = {
  name: "admin",
  routes: ["/api/v1/admin", "/api/v1/audit"],
  envSchema: adminEnvSchema,
  create: (ctx) => createApp(ctx),
};
