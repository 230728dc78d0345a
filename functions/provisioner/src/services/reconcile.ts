import type { InstanceStatus as LiveStatus } from "@minispod/cluster";
import { serviceInstances, subscriptions } from "@minispod/db";
import { type InstanceRecord, syncObserved } from "@minispod/instances";
import { and, asc, eq, gt, ne } from "drizzle-orm";
import type { ProvisionerContext } from "./context";
import { convergeInstance } from "./converge";
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
  /** Workloads with no live instance behind them, deleted. */
  orphansDeleted: number;
  /** Instances that could not be reconciled this time (logged; next sweep retries). */
  errors: number;
  ms: number;
}

const DB_BATCH = 500;

/** The cluster does not hold what the subscription implies: act, don't just observe. */
type Row = Pick<InstanceRecord, "instance" | "subscription">;

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
 * The reconcile sweep (PingSource -> POST /cron/reconcile): lists every
 * managed workload page by page (label selector on a real cluster), walks
 * the database's instances in batches, records what the cluster reports
 * (running, failed, past the provision deadline), converges the ones whose
 * cluster objects don't match their subscription (a lost event), and
 * deletes workloads no instance owns any more.
 */
export async function reconcile(
  ctx: ProvisionerContext,
  options: { pageSize: number },
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

  const result = { instances: 0, observed: 0, converged: 0, orphansDeleted: 0, errors: 0 };
  let after: string | undefined;
  for (;;) {
    const rows: Row[] = await ctx.db
      .select({
        instance: serviceInstances,
        subscription: {
          id: subscriptions.id,
          userId: subscriptions.userId,
          status: subscriptions.status,
        },
      })
      .from(serviceInstances)
      .innerJoin(subscriptions, eq(subscriptions.id, serviceInstances.subscriptionId))
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
        } else if (status) {
          const before = record.instance.status;
          const synced = await syncObserved(ctx.db, id, status, {
            now: ctx.now(),
            provisionTimeoutMs: ctx.provisionTimeoutMs,
            source: ctx.source,
          });
          if (synced && synced.instance.status !== before) result.observed++;
        }
      } catch (error) {
        result.errors++;
        ctx.logger.warn({ err: error, instanceId: id }, "reconcile: instance skipped this time");
      }
    }
  }

  // Listed before the database was read, so each of these had its row (now DELETED or gone).
  for (const orphan of live.values()) {
    try {
      await ctx.cluster.deleteInstance({
        customerId: orphan.customerId,
        instanceId: orphan.instanceId,
      });
      result.orphansDeleted++;
    } catch (error) {
      result.errors++;
      ctx.logger.warn({ err: error, instanceId: orphan.instanceId }, "reconcile: orphan kept");
    }
  }
  return { ...result, workloads, pages, listApiCalls, ms: Date.now() - started };
}
