import type { FunctionDefinition } from "@minispod/shared";
import { createApp } from "./app";
import { type CatalogEnv, catalogEnvSchema } from "./env";
import { seedDemoCatalog } from "./seed";

/** catalog: the public list of apps for sale; admins create, update and retire entries. */
export const catalogFunction: FunctionDefinition<CatalogEnv> = {
  name: "catalog",
  routes: ["/api/v1/services"],
  envSchema: catalogEnvSchema,
  create: (ctx) => createApp(ctx),
  async seedLocal(ctx) {
    const { created } = await seedDemoCatalog(ctx.db);
    return created > 0 ? `${created} demo catalog entries` : undefined;
  },
};

export { type ServiceDto, toServiceDto } from "./dto";
export * from "./quantities";
export { seedDemoCatalog } from "./seed";
