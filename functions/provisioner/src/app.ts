import {
  createDomainResolver,
  declareBackupMetrics,
  declareInstanceMetrics,
  keyringOf,
} from "@minispod/instances";
import { baseApp, consumeCounter, cronRoutes } from "@minispod/shared";
import type { ProvisionerDeps } from "./deps";
import { provisionerEventRoutes } from "./routes/events";
import { configureBackups, createBackupFollower, sweepBackups } from "./services/backups";
import type { ProvisionerContext } from "./services/context";
import { sweepDomains } from "./services/domains";
import { createFollower } from "./services/follow";
import { reconcile } from "./services/reconcile";

export type { ProvisionerDeps } from "./deps";

export const SOURCE = "provisioner";

/** The services' context from the function's dependencies (the dev routes use it too). */
export function provisionerContext(deps: ProvisionerDeps): ProvisionerContext {
  const ctx: ProvisionerContext = {
    db: deps.db,
    cluster: deps.cluster,
    logger: deps.logger,
    now: deps.now,
    source: SOURCE,
    provisionTimeoutMs: deps.env.PROVISION_TIMEOUT * 1000,
    metrics: deps.metrics,
    keyring: keyringOf(deps.env),
    domains: {
      resolver:
        deps.resolver ??
        createDomainResolver({
          servers: deps.env.DNS_RESOLVERS,
          timeoutMs: deps.env.DNS_TIMEOUT_MS,
        }),
      verifyWindowMs: deps.env.DOMAIN_VERIFY_WINDOW * 1000,
      issueTimeoutMs: deps.env.DOMAIN_ISSUE_TIMEOUT * 1000,
    },
  };
  declareInstanceMetrics(deps.metrics);
  declareBackupMetrics(deps.metrics);
  const backupFollower = createBackupFollower(ctx, deps.env.PROVISION_POLL_MS, () =>
    deps.events.kick(),
  );
  deps.onClose(() => backupFollower.close());
  configureBackups(ctx, {
    purgeGraceDays: deps.env.BACKUP_PURGE_GRACE_DAYS,
    timeoutMs: deps.env.BACKUP_TIMEOUT * 1000,
    follow: (id) => backupFollower.follow(id),
  });
  const follower = createFollower(ctx, deps.env.PROVISION_POLL_MS);
  deps.onClose(() => follower.close());
  ctx.onProvisioning = (id) => follower.follow(id);
  return ctx;
}

/**
 * The provisioner has no public routes: the broker delivers subscription
 * events to `/events`, PingSources call `/cron/reconcile`, `/cron/domains` and `/cron/backups`.
 */
export function createApp(deps: ProvisionerDeps, ctx = provisionerContext(deps)) {
  const app = baseApp(deps);
  // Events are in the outbox once convergeInstance commits; send them now rather than at
  // the relay's next pass.
  app.route(
    "/events",
    provisionerEventRoutes(
      ctx,
      () => deps.events.kick(),
      consumeCounter(deps.metrics, "provisioner"),
    ),
  );
  app.route(
    "/cron",
    cronRoutes(
      {
        reconcile: async () => {
          const result = await reconcile(ctx, {
            pageSize: deps.env.RECONCILE_PAGE_SIZE,
            rolloutBatch: deps.env.RECONCILE_ROLLOUT_BATCH,
          });
          deps.events.kick();
          return { ...result };
        },
        // Custom domains: TXT re-checks, certificates, released names (PingSource provisioner-domains).
        domains: async () => {
          const result = await sweepDomains(ctx);
          deps.events.kick();
          return { ...result };
        },
        // Scheduled backups, snapshots followed, rotation, the purge grace period.
        backups: async () => {
          const result = await sweepBackups(ctx);
          deps.events.kick();
          return { ...result };
        },
      },
      { now: deps.now },
    ),
  );
  return app;
}
