import {
  baseApp,
  cronRoutes,
  type FunctionContext,
  registerBusinessMetrics,
  relayOutbox,
} from "@minispod/shared";
import { deadLetterRoutes } from "./dead-letters";
import type { OutboxRelayEnv } from "./env";

export type OutboxRelayDeps = FunctionContext<OutboxRelayEnv>;

export function createApp(deps: OutboxRelayDeps) {
  const app = baseApp(deps);
  // The platform-wide business figures are exposed here, once (see registerBusinessMetrics).
  if (deps.env.METRICS_ENABLED) registerBusinessMetrics(deps.metrics, deps.db, deps.now);
  app.route(
    "/cron",
    cronRoutes(
      {
        // Everything still unsent (the publisher after a commit failed or never ran).
        relay: async (now) => {
          let published = 0;
          let failed = 0;
          // Keep going while full batches come back, so a backlog drains in one sweep.
          for (;;) {
            const result = await relayOutbox({
              db: deps.db,
              publisher: deps.publisher,
              logger: deps.logger,
              metrics: deps.metrics,
              batchSize: deps.env.OUTBOX_RELAY_BATCH,
              now: () => now,
            });
            published += result.published;
            failed += result.failed;
            if (result.published + result.failed < deps.env.OUTBOX_RELAY_BATCH || result.failed > 0)
              break;
          }
          return { published, failed };
        },
      },
      { now: deps.now },
    ),
  );
  app.route("/events/dead-letter", deadLetterRoutes(deps));
  return app;
}
