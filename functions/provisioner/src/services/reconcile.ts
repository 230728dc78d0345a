import { type InstanceStatus as LiveStatus, specHash } from "@minispod/cluster";
import { serviceInstances } from "@minispod/db";
import {
  appSpecOf,
  type InstanceRecord,
  observedTransition,
  selectRecords,
  syncObserved,
} from "@minispod/instances";
import { and, asc, eq, gt, inArray, ne } from "drizzle-orm";
import type { ProvisionerContext } from "./context";
import { convergeInstance } from "./converge";
import { recreateLostSecret } from "./credentials";
import { desiredOf } from "./desired";

export interface ReconcileResult {
  /** Instances the database knows and that are not DELETED. */
  instances: number;
  /** Workloads the cluster listed. */
  workloads: number;
  pages: number;
  /** Cluster API requests the listing took (grows with pages, not with instances). */
  listApiCalls: number;
  /** Instances whose status changed from what the cluster reported. */
  observed: number;
  /** Instances acted on because the cluster did not match their subscription. */
  converged: number;
  /**
   * Running instances applied again because their catalog entry changed
   * (image, resources, env, …) since they were applied: at most
   * `rolloutBatch` per sweep.
   */
  respecified: number;
  /** Instances behind their catalog entry left for the next sweep (over `rolloutBatch`). */
  respecDeferred: number;
  /**
   * Instances whose Secret was deleted behind our back (their pods said so)
   * and has been created again, credentials with their current values.
   */
  secretsRecreated: number;
  /** Workloads of instances that are DELETED here, deleted (again). */
  orphansDeleted: number;
  /**
   * Workloads with our labels whose instance this database does not know:
   * left alone (another minispod deployment may share the cluster), logged.
   */
  unknownWorkloads: number;
  /** Instances that could not be reconciled this time (logged; next sweep retries). */
  errors: number;
  ms: number;
}

const DB_BATCH = 500;

/** The cluster does not hold what the subscription implies: act, don't just observe. */
type Row = InstanceRecord;

function needsConverge(record: Row, live: LiveStatus | undefined): boolean {
  const status = record.instance.status;
  switch (desiredOf(record)) {
    case "running":
      return (
        status === "PENDING" ||
        status === "SUSPENDED" ||
        !live ||
        live.phase === "missing" ||
        live.phase === "suspended"
      );
    case "suspended":
      return status !== "SUSPENDED" || (live !== undefined && live.phase !== "suspended");
    case "deleted":
      return true;
    default:
      return false;
  }
}

/**
 * A workload that runs (or tries to) from an older version of its catalog
 * entry: an admin changed the image, resources or env since it was applied.
 * Suspended ones get the new spec when they resume.
 */
function behindCatalog(record: Row, live: LiveStatus | undefined): boolean {
  if (!live || live.phase === "missing" || live.phase === "suspended") return false;
  if (desiredOf(record) !== "running") return false;
  return live.specHash !== specHash(appSpecOf(record.service));
}

/**
 * The reconcile sweep (PingSource -> POST /cron/reconcile): lists every
 * managed workload page by page (label selector on a real cluster), walks
 * the database's instances in batches, records what the cluster reports
 * (running, failed, past the provision deadline), converges the ones whose
 * cluster objects don't match their subscription (a lost event), applies
 * again the ones applied from an older catalog entry (at most
 * `rolloutBatch` per sweep), and deletes the workloads of DELETED instances.
 */
export async function reconcile(
  ctx: ProvisionerContext,
  options: { pageSize: number; rolloutBatch: number },
): Promise<ReconcileResult> {
  const started = Date.now();
  const live = new Map<string, LiveStatus>();
  let token: string | null = null;
  let pages = 0;
  let listApiCalls = 0;
  do {
    const page = await ctx.cluster.listStatuses({ limit: options.pageSize, continue: token });
    for (const item of page.items) live.set(item.instanceId, item);
    listApiCalls += page.apiCalls;
    pages++;
    token = page.continue;
  } while (token);
  const workloads = live.size;

  const result = {
    instances: 0,
    observed: 0,
    converged: 0,
    respecified: 0,
    respecDeferred: 0,
    secretsRecreated: 0,
    orphansDeleted: 0,
    unknownWorkloads: 0,
    errors: 0,
  };
  let after: string | undefined;
  for (;;) {
    const rows: Row[] = await selectRecords(ctx.db)
      .where(
        and(
          ne(serviceInstances.status, "DELETED"),
          after ? gt(serviceInstances.id, after) : undefined,
        ),
      )
      .orderBy(asc(serviceInstances.id))
      .limit(DB_BATCH);
    if (rows.length === 0) break;
    after = rows.at(-1)?.instance.id;
    for (const record of rows) {
      result.instances++;
      const id = record.instance.id;
      const status = live.get(id);
      live.delete(id);
      try {
        if (needsConverge(record, status)) {
          const done = await convergeInstance(ctx, { instanceId: id });
          if (done.outcome === "converged") result.converged++;
        } else if (
          status?.secretMissing &&
          desiredOf(record) === "running" &&
          (await recreateLostSecret(ctx, record, status)).outcome === "recreated"
        ) {
          // Before a catalog re-apply (whose new pods would wait for the Secret too) and
          // instead of recording "failed": the pods start on their own now. Only for
          // instances whose pods say so, never a create per instance per sweep: the quota
          // admission charges every create, even of a Secret that exists. When it exists
          // already (409), this falls through: what the cluster reports is recorded as usual.
          result.secretsRecreated++;
        } else if (behindCatalog(record, status)) {
          // A catalog change rolls out a few instances per sweep, not all at once.
          if (result.respecified >= options.rolloutBatch) {
            result.respecDeferred++;
            continue;
          }
          const done = await convergeInstance(ctx, { instanceId: id });
          if (done.outcome === "converged") result.respecified++;
        } else if (
          status &&
          // Decided on the batch's row first: most sweeps find nothing to record, and
          // then no transaction is opened at all.
          observedTransition(record.instance, status, {
            now: ctx.now(),
            provisionTimeoutMs: ctx.provisionTimeoutMs,
          })
        ) {
          const before = record.instance.status;
          const synced = await syncObserved(ctx.db, id, status, {
            now: ctx.now(),
            provisionTimeoutMs: ctx.provisionTimeoutMs,
            source: ctx.source,
            metrics: ctx.metrics,
          });
          if (synced && synced.instance.status !== before) result.observed++;
        }
      } catch (error) {
        result.errors++;
        ctx.logger.warn({ err: error, instanceId: id }, "reconcile: instance skipped this time");
      }
    }
  }

  // Listed before the database was read, so each of these had its row then: now DELETED,
  // or never ours. Only the first are deleted.
  const leftover = [...live.values()];
  for (let start = 0; start < leftover.length; start += DB_BATCH) {
    const batch = leftover.slice(start, start + DB_BATCH);
    const deleted = new Set(
      (
        await ctx.db
          .select({ id: serviceInstances.id })
          .from(serviceInstances)
          .where(
            and(
              inArray(
                serviceInstances.id,
                batch.map((w) => w.instanceId),
              ),
              eq(serviceInstances.status, "DELETED"),
            ),
          )
      ).map((r) => r.id),
    );
    for (const workload of batch) {
      if (!deleted.has(workload.instanceId)) {
        result.unknownWorkloads++;
        continue;
      }
      try {
        await ctx.cluster.deleteInstance({
          customerId: workload.customerId,
          instanceId: workload.instanceId,
        });
        result.orphansDeleted++;
      } catch (error) {
        result.errors++;
        ctx.logger.warn({ err: error, instanceId: workload.instanceId }, "reconcile: orphan kept");
      }
    }
  }
  if (result.unknownWorkloads > 0) {
    ctx.logger.warn(
      { unknownWorkloads: result.unknownWorkloads },
      "reconcile: workloads with our labels that this database does not know were left alone",
    );
  }
  return { ...result, workloads, pages, listApiCalls, ms: Date.now() - started };
}
