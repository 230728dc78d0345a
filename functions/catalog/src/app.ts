import { baseApp, type FunctionContext } from "@minispod/shared";
import type { CatalogEnv } from "./env";
import { adminServiceRoutes } from "./routes/admin-services";
import { serviceRoutes } from "./routes/services";

export type CatalogDeps = FunctionContext<CatalogEnv>;

export function createApp(deps: CatalogDeps) {
  const app = baseApp(deps);
  app.route("/api/v1/services", serviceRoutes(deps));
  app.route("/api/v1/services", adminServiceRoutes(deps));
  return app;
}
