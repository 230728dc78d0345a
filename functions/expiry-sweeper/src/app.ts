import {
  billingSettingsOf,
  expireEndedSubscriptions,
  publishWritten,
  purgeExpiredSubscriptions,
  type SweepStepResult,
  sendExpiryReminders,
  sweepMetrics,
} from "@minispod/billing";
import { baseApp, cronRoutes } from "@minispod/shared";
import type { ExpirySweeperDeps } from "./deps";

export type { ExpirySweeperDeps } from "./deps";

/**
 * `POST /cron/remind`, `/cron/expire`, `/cron/purge`: the PingSources of
 * knative/base/functions/expiry-sweeper.yaml. Each job is set-based and
 * bounded (EXPIRY_SWEEP_BATCH x EXPIRY_SWEEP_MAX_BATCHES rows), with
 * EXPIRY_SWEEP_CONCURRENCY batches in flight; batches and overlapping runs
 * split the rows (SKIP LOCKED), and a run that stops early leaves the rest to
 * the next one.
 */
export function createApp(deps: ExpirySweeperDeps) {
  const app = baseApp(deps);
  const metrics = sweepMetrics(deps.metrics.registry, { db: deps.db, now: deps.now });
  const ctx = {
    db: deps.db,
    logger: deps.logger,
    source: deps.name,
    settings: billingSettingsOf(deps.env),
  };
  const bounds = {
    batchSize: deps.env.EXPIRY_SWEEP_BATCH,
    maxBatches: deps.env.EXPIRY_SWEEP_MAX_BATCHES,
    concurrency: deps.env.EXPIRY_SWEEP_CONCURRENCY,
  };

  const job =
    (name: string, step: (now: Date) => Promise<SweepStepResult>) => async (now: Date) => {
      const started = performance.now();
      const { eventIds, ...result } = await step(now);
      const sent = await publishWritten(deps.events, eventIds);
      metrics.observe(name, { seconds: (performance.now() - started) / 1000, ...result });
      return { ...result, events: eventIds.length, published: sent.published };
    };

  app.route(
    "/cron",
    cronRoutes(
      {
        remind: job("remind", (now) =>
          sendExpiryReminders({
            ctx,
            now,
            reminderDays: deps.env.EXPIRY_REMINDER_DAYS,
            ...bounds,
          }),
        ),
        expire: job("expire", (now) => expireEndedSubscriptions({ ctx, now, ...bounds })),
        purge: job("purge", (now) => purgeExpiredSubscriptions({ ctx, now, ...bounds })),
      },
      { now: deps.now },
    ),
  );
  return app;
}
