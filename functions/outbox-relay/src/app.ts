import { registerBusinessMetrics } from "@minispod/billing";
import {
  baseApp,
  cronRoutes,
  eventPurgeCounter,
  purgeProcessedEvents,
  purgePublishedEvents,
  relayOutbox,
} from "@minispod/shared";
import type { OutboxRelayDeps } from "./deps";
import { deadLetterRoutes } from "./routes/dead-letters";

export type { OutboxRelayDeps } from "./deps";

export function createApp(deps: OutboxRelayDeps) {
  const app = baseApp(deps);
  // The platform-wide business figures are exposed here, once (see registerBusinessMetrics).
  if (deps.env.METRICS_ENABLED) {
    registerBusinessMetrics(deps.metrics, deps.db, deps.now, {
      cacheSeconds: deps.env.BUSINESS_METRICS_CACHE,
    });
  }
  const purged = eventPurgeCounter(deps.metrics);
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
              concurrency: deps.env.OUTBOX_RELAY_CONCURRENCY,
              now: () => now,
            });
            published += result.published;
            failed += result.failed;
            if (result.published + result.failed < deps.env.OUTBOX_RELAY_BATCH || result.failed > 0)
              break;
          }
          return { published, failed };
        },
        // Published outbox rows past OUTBOX_RETENTION, and consumers' records of
        // handled events past PROCESSED_EVENTS_RETENTION: neither table grows forever.
        purge: async (now) => {
          const before = (seconds: number) => new Date(now.getTime() - seconds * 1000);
          const batches = { batchSize: 1000, maxBatches: deps.env.EVENT_PURGE_MAX_BATCHES };
          const outbox = await purgePublishedEvents(deps.db, {
            before: before(deps.env.OUTBOX_RETENTION),
            ...batches,
          });
          const processed = await purgeProcessedEvents(deps.db, {
            before: before(deps.env.PROCESSED_EVENTS_RETENTION),
            ...batches,
          });
          purged.inc({ table: "outbox_events" }, outbox.purged);
          purged.inc({ table: "processed_events" }, processed.purged);
          return { outbox, processed };
        },
      },
      { now: deps.now },
    ),
  );
  app.route("/events/dead-letter", deadLetterRoutes(deps));
  return app;
}
