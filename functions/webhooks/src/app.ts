import { baseApp } from "@minispod/shared";
import type { WebhooksDeps } from "./deps";
import { deliveryRoutes } from "./routes/deliveries";
import { endpointRoutes } from "./routes/endpoints";

export type { WebhooksDeps } from "./deps";

export function createApp(deps: WebhooksDeps) {
  const app = baseApp(deps);
  app.route("/api/v1/webhooks", endpointRoutes(deps));
  app.route("/api/v1/webhooks", deliveryRoutes(deps));
  return app;
}
