import {
  billingContextOf,
  publishWritten,
  purgeIdempotencyKeys,
  reconcilePendingPayments,
  renewDueSubscriptions,
  sweepMetrics,
} from "@minispod/billing";
import { baseApp, cronRoutes } from "@minispod/shared";
import type { BillingSweeperDeps } from "./deps";

export type { BillingSweeperDeps } from "./deps";

/**
 * `POST /cron/renew` and `POST /cron/purge-keys`: the PingSources of
 * knative/base/functions/billing-sweeper.yaml.
 *
 * A renew run first settles the payments whose outcome was lost (older than
 * BILLING_RECONCILE_AFTER), asking the provider by their idempotency key, then
 * charges what is due in bounded batches. Overlapping runs split the rows.
 */
export function createApp(deps: BillingSweeperDeps) {
  const app = baseApp(deps);
  const runCtx = billingContextOf(deps);
  const metrics = sweepMetrics(deps.metrics.registry, { db: deps.db, now: deps.now });
  const env = deps.env;
  const seconds = (since: number) => (performance.now() - since) / 1000;

  app.route(
    "/cron",
    cronRoutes(
      {
        renew: async (now) => {
          const started = performance.now();
          // Settling writes events per payment; they are sent in chunks at the end of the
          // run instead of one relay call per payment (outbox-relay covers a crash before).
          const written: string[] = [];
          const ctx = {
            ...runCtx,
            events: { ...deps.events, kick: (ids?: string[]) => void written.push(...(ids ?? [])) },
          };
          const reconciled = await reconcilePendingPayments({
            ctx,
            provider: deps.provider,
            olderThan: new Date(now.getTime() - env.BILLING_RECONCILE_AFTER * 1000),
            limit: env.BILLING_SWEEP_BATCH * env.BILLING_SWEEP_MAX_BATCHES,
          });
          metrics.observe("reconcile", {
            seconds: seconds(started),
            examined: reconciled.checked,
            changed: reconciled.succeeded + reconciled.failed,
          });
          const renewStarted = performance.now();
          const renewed = await renewDueSubscriptions({
            ctx,
            now,
            windowSeconds: env.BILLING_RENEWAL_WINDOW,
            batchSize: env.BILLING_SWEEP_BATCH,
            maxBatches: env.BILLING_SWEEP_MAX_BATCHES,
            concurrency: env.BILLING_SWEEP_CONCURRENCY,
          });
          metrics.observe("renew", {
            seconds: seconds(renewStarted),
            examined: renewed.examined,
            changed: renewed.succeeded + renewed.failed,
          });
          for (const outcome of ["attempted", "succeeded", "failed", "unknown"] as const) {
            metrics.charges.inc({ outcome }, renewed[outcome]);
          }
          const sent = await publishWritten(deps.events, written);
          return { reconciled, ...renewed, events: written.length, published: sent.published };
        },
        "purge-keys": async (now) => {
          const started = performance.now();
          const result = await purgeIdempotencyKeys(deps.db, {
            olderThan: new Date(now.getTime() - env.IDEMPOTENCY_KEY_RETENTION * 1000),
            batchSize: 1000,
            maxBatches: env.BILLING_SWEEP_MAX_BATCHES,
          });
          metrics.observe("purge-keys", {
            seconds: seconds(started),
            examined: result.purged,
            changed: result.purged,
          });
          return result;
        },
      },
      { now: deps.now },
    ),
  );
  return app;
}
