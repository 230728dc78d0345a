import { baseApp, type FunctionContext, type TokenSigner } from "@minispod/shared";
import type { AuthEnv } from "./env";
import { accountRoutes } from "./routes/account";
import { notes } from "./routes/notes";
import { passwordRoutes } from "./routes/password";
import { sessionRoutes } from "./routes/sessions";
import type { PasswordHasher } from "./services/passwords";

export interface AuthDeps extends FunctionContext<AuthEnv> {
  signer: TokenSigner;
  passwords: PasswordHasher;
}

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
