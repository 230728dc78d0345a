import {
  createDomainResolver,
  declareBackupMetrics,
  declareInstanceMetrics,
  keyringOf,
} from "@minispod/instances";
import { baseApp } from "@minispod/shared";
import { etag } from "hono/etag";
import type { InstancesDeps } from "./deps";
import { backupRoutes } from "./routes/backups";
import { domainRoutes } from "./routes/domains";
import { instanceRoutes } from "./routes/instances";
import type { InstancesContext } from "./services/context";

export type { InstancesDeps } from "./deps";

export function createApp(deps: InstancesDeps) {
  const ctx: InstancesContext = {
    db: deps.db,
    cluster: deps.cluster,
    logger: deps.logger,
    now: deps.now,
    source: "instances",
    provisionTimeoutMs: deps.env.PROVISION_TIMEOUT * 1000,
    metrics: deps.metrics,
    store: deps.store,
    limiter: deps.limiter,
    restartLimit: {
      limit: deps.env.INSTANCE_RESTART_LIMIT,
      windowSeconds: deps.env.INSTANCE_RESTART_WINDOW,
    },
    keyring: keyringOf(deps.env),
    domains: {
      resolver:
        deps.resolver ??
        createDomainResolver({
          servers: deps.env.DNS_RESOLVERS,
          timeoutMs: deps.env.DNS_TIMEOUT_MS,
        }),
      perInstance: deps.env.DOMAINS_PER_INSTANCE,
      platformDomain: deps.env.K8S_CLUSTER_DOMAIN,
      issueTimeoutMs: deps.env.DOMAIN_ISSUE_TIMEOUT * 1000,
    },
  };
  declareInstanceMetrics(deps.metrics);
  declareBackupMetrics(deps.metrics);
  const app = baseApp(deps);
  // Transitions recorded by a read or a restart are in the outbox; send them now.
  app.use("/api/v1/instances/*", async (_c, next) => {
    await next();
    deps.events.kick();
  });
  // Pages poll an instance's status: an unchanged answer is a 304 without a body.
  const tagged = etag();
  app.use("/api/v1/instances/*", (c, next) => (c.req.method === "GET" ? tagged(c, next) : next()));
  app.route("/api/v1/instances", instanceRoutes(ctx, deps.verifier));
  app.route("/api/v1/instances", domainRoutes(ctx, deps.verifier));
  app.route("/api/v1/instances", backupRoutes(ctx, deps.verifier));
  return app;
}
