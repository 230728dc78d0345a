import { isClusterError } from "@minispod/cluster";
import { instanceDomains, serviceInstances } from "@minispod/db";
import {
  checkOwnership,
  convergeDomains,
  domainEventData,
  IN_CLUSTER,
  recordOwnershipCheck,
  setDomainState,
} from "@minispod/instances";
import { enqueueEvent, mapLimit } from "@minispod/shared";
import { and, asc, eq, gt, inArray, isNotNull, or, sql } from "drizzle-orm";
import type { ProvisionerContext } from "./context";

/** Unverified claims re-checked per sweep (oldest check first). */
const PENDING_BATCH = 200;

/**
 * `domain.verified` / `domain.removed`: makes the cluster route exactly the
 * instance's verified domains (and request their certificates), then
 * records what it says. Idempotent: a redelivery applies the same set again.
 */
export async function applyInstanceDomains(ctx: ProvisionerContext, instanceId: string) {
  return convergeDomains(ctx.db, ctx.cluster, instanceId, {
    now: ctx.now(),
    source: ctx.source,
    issueTimeoutMs: ctx.domains.issueTimeoutMs,
    force: true,
  });
}

/**
 * The custom domain sweep (PingSource `provisioner-domains` -> POST
 * /cron/domains), apart from the instance reconcile sweep:
 * 1. unverified claims: their TXT record looked up again; past
 *    DOMAIN_VERIFY_WINDOW they are FAILED (a "check now" may still verify them);
 * 2. domains of deleted instances are released (rows gone, `domain.removed`);
 * 3. every instance with verified domains, or with routes left although it has
 *    none (`routed_domains`): routes and certificates converged,
 *    ISSUING -> ACTIVE | FAILED recorded (with cert-manager's reason).
 */
export async function sweepDomains(ctx: ProvisionerContext) {
  const now = ctx.now();
  const options = { now, source: ctx.source };
  const result = {
    checked: 0,
    verified: 0,
    expired: 0,
    released: 0,
    instances: 0,
    changed: 0,
    errors: 0,
  };

  const pending = await ctx.db
    .select()
    .from(instanceDomains)
    .where(eq(instanceDomains.state, "PENDING_VERIFICATION"))
    .orderBy(sql`${instanceDomains.lastCheckedAt} asc nulls first`, asc(instanceDomains.id))
    .limit(PENDING_BATCH);
  await mapLimit(pending, 8, async (row) => {
    if (now.getTime() - row.createdAt.getTime() > ctx.domains.verifyWindowMs) {
      const days = Math.round(ctx.domains.verifyWindowMs / 86_400_000);
      await setDomainState(
        ctx.db,
        row,
        {
          state: "FAILED",
          reason: `the TXT record was not found within ${days} days; create it and press "check now"`,
        },
        options,
      );
      result.expired++;
      return;
    }
    const check = await checkOwnership(ctx.domains.resolver, row.domain, row.token);
    const recorded = await recordOwnershipCheck(ctx.db, row, check, options);
    result.checked++;
    if (recorded.row.state === "ISSUING") result.verified++;
  });

  // Domains of deleted instances: released, so the names can be claimed again.
  const orphaned = await ctx.db
    .select({ domain: instanceDomains })
    .from(instanceDomains)
    .innerJoin(serviceInstances, eq(serviceInstances.id, instanceDomains.instanceId))
    .where(inArray(serviceInstances.status, ["DELETING", "DELETED"]));
  for (const { domain: row } of orphaned) {
    await ctx.db.transaction(async (tx) => {
      const gone = await tx
        .delete(instanceDomains)
        .where(eq(instanceDomains.id, row.id))
        .returning({ id: instanceDomains.id });
      if (gone.length === 0) return;
      await enqueueEvent(tx, {
        type: "domain.removed",
        source: ctx.source,
        subject: row.id,
        data: { ...domainEventData(row), reason: "the instance was deleted" },
      });
    });
    result.released++;
  }

  // Instances with verified domains, and those the cluster still routes domains for although
  // none is left (their last `domain.removed` was lost): the converge takes those routes down.
  const instances = await ctx.db
    .selectDistinct({ id: serviceInstances.id })
    .from(serviceInstances)
    .leftJoin(
      instanceDomains,
      and(
        eq(instanceDomains.instanceId, serviceInstances.id),
        isNotNull(instanceDomains.verifiedAt),
      ),
    )
    .where(
      and(
        inArray(serviceInstances.status, [...IN_CLUSTER]),
        or(isNotNull(instanceDomains.id), gt(serviceInstances.routedDomains, 0)),
      ),
    );
  await mapLimit(instances, 4, async ({ id }) => {
    try {
      const converged = await convergeDomains(ctx.db, ctx.cluster, id, {
        ...options,
        issueTimeoutMs: ctx.domains.issueTimeoutMs,
      });
      result.instances++;
      result.changed += converged.changed;
    } catch (error) {
      if (!isClusterError(error)) throw error;
      result.errors++;
      ctx.logger.warn(
        { err: error, instanceId: id },
        "custom domains not converged; next sweep retries",
      );
    }
  });
  return result;
}
