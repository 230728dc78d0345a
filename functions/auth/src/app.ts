import { baseApp } from "@minispod/shared";
import type { AuthDeps } from "./deps";
import { accountRoutes } from "./routes/account";
import { notes } from "./routes/openapi";
import { passwordRoutes } from "./routes/password";
import { sessionRoutes } from "./routes/sessions";

export type { AuthDeps } from "./deps";

export function createApp(deps: AuthDeps) {
  const app = baseApp(deps);
  app.get("/api/v1/auth/jwks.json", notes.jwks, async (c) => {
    c.header("cache-control", "public, max-age=300");
    return c.json(await deps.signer.jwks());
  });
  app.route("/api/v1/auth", sessionRoutes(deps));
  app.route("/api/v1/auth", accountRoutes(deps));
  app.route("/api/v1/auth", passwordRoutes(deps));
  return app;
}
