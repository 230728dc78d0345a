import { clusterFromEnv } from "@minispod/instances";
import type { FunctionDefinition } from "@minispod/shared";
import { createApp, provisionerContext } from "./app";
import { type ProvisionerEnv, provisionerEnvSchema } from "./env";
import { devRoutes } from "./routes/dev";

/** provisioner: subscription events -> customer workloads on the cluster; reconcile sweep. */
export const provisionerFunction: FunctionDefinition<ProvisionerEnv> = {
  name: "provisioner",
  routes: [],
  envSchema: provisionerEnvSchema,
  create(ctx) {
    const cluster = clusterFromEnv(ctx.env, { db: ctx.db, logger: ctx.logger, now: ctx.now });
    return createApp({ ...ctx, cluster });
  },
  devRoutes(ctx) {
    const cluster = clusterFromEnv(ctx.env, { db: ctx.db, logger: ctx.logger, now: ctx.now });
    return devRoutes(provisionerContext({ ...ctx, cluster }));
  },
};
