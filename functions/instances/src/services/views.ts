import {
  type Db,
  instanceStatusEvents,
  serviceCatalog,
  serviceInstances,
  subscriptions,
} from "@minispod/db";
import { asc, eq } from "drizzle-orm";

const columns = {
  id: serviceInstances.id,
  subscriptionId: serviceInstances.subscriptionId,
  userId: subscriptions.userId,
  service: { id: serviceCatalog.id, slug: serviceCatalog.slug, name: serviceCatalog.name },
  status: serviceInstances.status,
  url: serviceInstances.url,
  lastError: serviceInstances.lastError,
  statusChangedAt: serviceInstances.statusChangedAt,
  createdAt: serviceInstances.createdAt,
  updatedAt: serviceInstances.updatedAt,
};

export function selectInstances(db: Db) {
  return db
    .select(columns)
    .from(serviceInstances)
    .innerJoin(subscriptions, eq(subscriptions.id, serviceInstances.subscriptionId))
    .innerJoin(serviceCatalog, eq(serviceCatalog.id, subscriptions.serviceId));
}

type Row = Awaited<ReturnType<ReturnType<typeof selectInstances>["where"]>>[number];

/**
 * An instance as the API shows it. The URL is shown once the provisioner has
 * placed the instance on the cluster (PENDING rows carry a placeholder) and
 * until it is deleted.
 */
export function instanceDto(row: Row) {
  return {
    id: row.id,
    subscriptionId: row.subscriptionId,
    userId: row.userId,
    service: row.service,
    status: row.status,
    url: row.status === "PENDING" || row.status === "DELETED" ? null : row.url,
    lastError: row.lastError,
    statusChangedAt: row.statusChangedAt.toISOString(),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
export type InstanceDto = ReturnType<typeof instanceDto>;

export async function loadInstanceRow(db: Db, id: string) {
  const [row] = await selectInstances(db).where(eq(serviceInstances.id, id));
  return row;
}

/** The status timeline, oldest first. */
export async function loadTimeline(db: Db, instanceId: string) {
  const rows = await db
    .select()
    .from(instanceStatusEvents)
    .where(eq(instanceStatusEvents.instanceId, instanceId))
    .orderBy(asc(instanceStatusEvents.seq));
  return rows.map((r) => ({ status: r.status, message: r.message, at: r.createdAt.toISOString() }));
}
