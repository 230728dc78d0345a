import { isClusterError } from "@minispod/cluster";
import { type InstanceStatus, serviceInstances, subscriptions } from "@minispod/db";
import { IN_CLUSTER, syncObserved } from "@minispod/instances";
import { AppError, keyset, listOwner, type Page, type PageQuery } from "@minispod/shared";
import { and, eq } from "drizzle-orm";
import { type Actor, canReach, type InstancesContext } from "./context";
import {
  type InstanceDto,
  instanceDto,
  loadInstanceRow,
  loadTimeline,
  selectInstances,
} from "./views";

export const instanceNotFound = () =>
  new AppError("NOT_FOUND", { detail: "No instance with this id." });

/** The instance, if `actor` may see it; another customer's answers 404 like a missing one. */
export async function reachableInstance(ctx: InstancesContext, actor: Actor, id: string) {
  const row = await loadInstanceRow(ctx.db, id);
  if (!row || !canReach(actor, row.userId)) throw instanceNotFound();
  return row;
}

export interface ListInstancesInput {
  actor: Actor;
  page: PageQuery;
  /** Admins only: one customer's instances. */
  userId?: string | undefined;
  status?: InstanceStatus | undefined;
}

/** Newest first; customers get their own, admins everyone's (or one customer's). */
export async function listInstances({
  ctx,
  input,
}: {
  ctx: Pick<InstancesContext, "db">;
  input: ListInstancesInput;
}): Promise<Page<InstanceDto>> {
  const { actor } = input;
  const owner = listOwner(actor, input.userId, "instances");
  const p = keyset(serviceInstances.createdAt, serviceInstances.id, input.page);
  const rows = await selectInstances(ctx.db)
    .where(
      and(
        owner ? eq(subscriptions.userId, owner) : undefined,
        input.status ? eq(serviceInstances.status, input.status) : undefined,
        p.where,
      ),
    )
    .orderBy(...p.orderBy)
    .limit(p.fetch);
  return p.page(rows, instanceDto);
}

/**
 * One instance with its live state and timeline. Reading the cluster here
 * also records what it says (running, failed, past its deadline), so the
 * stored status is as fresh as what the customer is shown. When the cluster
 * can't be reached, the last recorded status is shown and `live` is null.
 */
export async function showInstance({
  ctx,
  input,
}: {
  ctx: InstancesContext;
  input: { actor: Actor; id: string };
}) {
  let row = await reachableInstance(ctx, input.actor, input.id);
  let live = null;
  if (IN_CLUSTER.includes(row.status)) {
    try {
      const status = await ctx.cluster.readStatus({ customerId: row.userId, instanceId: row.id });
      live = {
        phase: status.phase,
        reason: status.reason,
        replicas: status.replicas,
        events: status.events,
      };
      const synced = await syncObserved(ctx.db, row.id, status, {
        now: ctx.now(),
        provisionTimeoutMs: ctx.provisionTimeoutMs,
        source: ctx.source,
        metrics: ctx.metrics,
      });
      if (synced && synced.instance.status !== row.status) {
        row = (await loadInstanceRow(ctx.db, row.id)) ?? row;
      }
    } catch (error) {
      if (!isClusterError(error)) throw error;
      ctx.logger.warn({ err: error, instanceId: row.id }, "live status unavailable");
    }
  }
  return { ...instanceDto(row), live, timeline: await loadTimeline(ctx.db, row.id) };
}

export async function instanceLogs({
  ctx,
  input,
}: {
  ctx: InstancesContext;
  input: { actor: Actor; id: string; tail: number; since?: number | undefined };
}) {
  const row = await reachableInstance(ctx, input.actor, input.id);
  if (!IN_CLUSTER.includes(row.status)) return { pod: null, lines: [] };
  try {
    return await ctx.cluster.logs(
      { customerId: row.userId, instanceId: row.id },
      { tailLines: input.tail, sinceSeconds: input.since },
    );
  } catch (error) {
    if (isClusterError(error, "not_found")) return { pod: null, lines: [] };
    if (isClusterError(error)) {
      ctx.logger.warn({ err: error, instanceId: row.id }, "logs unavailable");
      throw new AppError("SERVICE_UNAVAILABLE", { detail: "Logs are unavailable right now." });
    }
    throw error;
  }
}
