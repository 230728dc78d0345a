import { baseApp, type FunctionContext } from "@minispod/shared";
import type { AdminEnv } from "./env";
import { deadLetterRoutes } from "./routes/dead-letters";

export type AdminDeps = FunctionContext<AdminEnv>;

export function createApp(deps: AdminDeps) {
  const app = baseApp(deps);
  app.route("/api/v1/admin/dead-letters", deadLetterRoutes(deps));
  return app;
}
