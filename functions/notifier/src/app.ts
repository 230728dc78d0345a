import { baseApp, eventRoutes } from "@minispod/shared";
import type { NotifierDeps } from "./deps";
import { senderDomain } from "./mail/headers";
import { notificationHandlers } from "./services/notify";
import { linkBuilder, templates } from "./templates/index";

export type { NotifierDeps } from "./deps";

/** The notifier has no public routes: the broker delivers customer-facing events to `/events`. */
export function createApp(deps: NotifierDeps) {
  const app = baseApp(deps);
  const handlers = notificationHandlers({
    mailer: deps.mailer,
    templates: deps.templates ?? templates,
    link: linkBuilder(deps.env.APP_URL),
    domain: senderDomain(deps.env.SMTP_FROM),
    logger: deps.logger,
    now: deps.now,
  });
  app.route(
    "/events",
    eventRoutes({ db: deps.db, metrics: deps.metrics, consumer: "notifier", handlers }),
  );
  return app;
}
