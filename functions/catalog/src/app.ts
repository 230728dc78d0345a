import { baseApp } from "@minispod/shared";
import type { CatalogDeps } from "./deps";
import { adminServiceRoutes } from "./routes/admin-services";
import { serviceRoutes } from "./routes/services";

export type { CatalogDeps } from "./deps";

export function createApp(deps: CatalogDeps) {
  const app = baseApp(deps);
  app.route("/api/v1/services", serviceRoutes(deps));
  app.route("/api/v1/services", adminServiceRoutes(deps));
  return app;
}
