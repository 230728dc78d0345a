import { baseApp } from "@minispod/shared";
import type { AdminDeps } from "./deps";
import { adminRoutes, ownAuditRoutes } from "./routes/admin";
import { adminBackupRoutes } from "./routes/backups";
import { deadLetterRoutes } from "./routes/dead-letters";
import { adminDomainRoutes } from "./routes/domains";
import type { AdminContext } from "./services/context";

export type { AdminDeps } from "./deps";

export function createApp(deps: AdminDeps) {
  const ctx: AdminContext = {
    db: deps.db,
    store: deps.store,
    logger: deps.logger,
    now: deps.now,
    accessTokenTtl: deps.env.JWT_EXPIRES_IN,
  };
  const app = baseApp(deps);
  app.route(
    "/api/v1/admin/dead-letters",
    deadLetterRoutes(deps, { rememberedFor: deps.env.PROCESSED_EVENTS_RETENTION }),
  );
  app.route("/api/v1/admin/domains", adminDomainRoutes(ctx, deps.verifier));
  app.route("/api/v1/admin", adminRoutes(ctx, deps.verifier));
  app.route("/api/v1/admin", adminBackupRoutes(ctx, deps.verifier));
  app.route("/api/v1/audit", ownAuditRoutes(ctx, deps.verifier));
  return app;
}
