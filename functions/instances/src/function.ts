import { clusterFromEnv } from "@minispod/instances";
import type { FunctionDefinition } from "@minispod/shared";
import { createApp } from "./app";
import { type InstancesEnv, instancesEnvSchema } from "./env";

/** instances: customers' running apps: list, live status with timeline, logs, restart. */
export const instancesFunction: FunctionDefinition<InstancesEnv> = {
  name: "instances",
  routes: ["/api/v1/instances"],
  envSchema: instancesEnvSchema,
  create(ctx) {
    const cluster = clusterFromEnv(ctx.env, { db: ctx.db, logger: ctx.logger, now: ctx.now });
    return createApp({ ...ctx, cluster });
  },
};
