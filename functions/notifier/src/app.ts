import { baseApp, eventRoutes, type FunctionContext } from "@minispod/shared";
import type { NotifierEnv } from "./env";
import { senderDomain } from "./mail/headers";
import type { Mailer } from "./mail/mailer";
import { notificationHandlers } from "./services/notify";
import { linkBuilder, type TemplateMap, templates } from "./templates/index";

export interface NotifierDeps extends FunctionContext<NotifierEnv> {
  mailer: Mailer;
  /** Defaults to every template the notifier has. */
  templates?: TemplateMap;
}

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
