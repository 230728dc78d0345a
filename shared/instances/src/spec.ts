import type { AppSpec, InstanceRef, NamespaceSpec } from "@minispod/cluster";
import {
  backupRestores,
  type Db,
  type InstanceStatus,
  instanceVolumes,
  serviceCatalog,
  serviceInstances,
  subscriptions,
} from "@minispod/db";
import { and, eq, exists, inArray, isNotNull, ne, sql } from "drizzle-orm";

export type InstanceRow = typeof serviceInstances.$inferSelect;

/** Statuses in which the cluster holds the instance's objects (pods to read, domains to route). */
export const IN_CLUSTER: readonly InstanceStatus[] = [
  "PROVISIONING",
  "RUNNING",
  "FAILED",
  "SUSPENDED",
];
type CatalogRow = typeof serviceCatalog.$inferSelect;

/** An instance with what decides its fate: its subscription and its catalog entry. */
export interface InstanceRecord {
  instance: InstanceRow;
  subscription: { id: string; userId: string; status: typeof subscriptions.$inferSelect.status };
  service: CatalogRow;
}

const recordColumns = {
  instance: serviceInstances,
  subscription: {
    id: subscriptions.id,
    userId: subscriptions.userId,
    status: subscriptions.status,
  },
  service: serviceCatalog,
};

/** Instances joined with their subscription and catalog entry; add a where clause. */
export function selectRecords(db: Db) {
  return db
    .select(recordColumns)
    .from(serviceInstances)
    .innerJoin(subscriptions, eq(subscriptions.id, serviceInstances.subscriptionId))
    .innerJoin(serviceCatalog, eq(serviceCatalog.id, subscriptions.serviceId));
}

/**
 * The instance of a subscription. `lock` takes the instance row FOR UPDATE:
 * every status change of an instance is made under that lock, so two
 * deliveries of one event can never both record the same transition.
 */
export async function loadRecord(
  db: Db,
  by: { subscriptionId: string } | { instanceId: string },
  options: { lock?: boolean } = {},
): Promise<InstanceRecord | undefined> {
  const where =
    "subscriptionId" in by
      ? eq(serviceInstances.subscriptionId, by.subscriptionId)
      : eq(serviceInstances.id, by.instanceId);
  const query = selectRecords(db).where(where);
  const [row] = options.lock ? await query.for("update", { of: serviceInstances }) : await query;
  return row;
}

export const refOf = (record: InstanceRecord): InstanceRef => ({
  customerId: record.subscription.userId,
  instanceId: record.instance.id,
});

/** What the catalog says about an app, in the cluster port's words. */
export function appSpecOf(service: CatalogRow): AppSpec {
  const workload = service.workload;
  return {
    slug: service.slug,
    image: service.image,
    imageTag: service.imageTag,
    port: service.port,
    env: service.defaultEnv,
    resources: {
      cpu: service.cpu,
      memory: service.memory,
      storage: service.storage,
      storageMountPath: service.storageMountPath,
      ...(workload.ephemeralStorage ? { ephemeralStorage: workload.ephemeralStorage } : {}),
    },
    ...(workload.imageDigest ? { imageDigest: workload.imageDigest } : {}),
    ...(workload.readOnlyRootFilesystem ? { readOnlyRootFilesystem: true } : {}),
    ...(workload.writablePaths?.length ? { writablePaths: workload.writablePaths } : {}),
    ...(workload.podSecurity ? { podSecurity: workload.podSecurity } : {}),
    ...(workload.runAsUser !== undefined ? { runAsUser: workload.runAsUser } : {}),
    ...(workload.generatedSecrets?.length ? { generatedSecrets: workload.generatedSecrets } : {}),
    ...(workload.probePath ? { probe: { path: workload.probePath } } : {}),
  };
}

/**
 * The customer's namespace sized for every instance that holds cluster
 * resources (running, starting, failed or suspended with its volume), plus a
 * second volume for each instance a restore is moving to a new claim: from
 * the restore's start until the previous claim is gone from the cluster.
 */
export async function namespaceSpecOf(db: Db, customerId: string): Promise<NamespaceSpec> {
  const restoring = sql<boolean>`(${exists(
    db
      .select({ one: instanceVolumes.instanceId })
      .from(instanceVolumes)
      .where(
        and(
          eq(instanceVolumes.instanceId, serviceInstances.id),
          isNotNull(instanceVolumes.previousGeneration),
        ),
      ),
  )} or ${exists(
    db
      .select({ one: backupRestores.id })
      .from(backupRestores)
      .where(
        and(
          eq(backupRestores.targetInstanceId, serviceInstances.id),
          eq(backupRestores.status, "PENDING"),
        ),
      ),
  )})`;
  const rows = await db
    .select({ service: serviceCatalog, restoring })
    .from(serviceInstances)
    .innerJoin(subscriptions, eq(subscriptions.id, serviceInstances.subscriptionId))
    .innerJoin(serviceCatalog, eq(serviceCatalog.id, subscriptions.serviceId))
    .where(
      and(
        eq(subscriptions.userId, customerId),
        inArray(subscriptions.status, ["ACTIVE", "PAST_DUE", "EXPIRED"]),
        ne(serviceInstances.status, "DELETED"),
      ),
    );
  const apps = rows.map((r) => appSpecOf(r.service));
  const extraVolumes = rows.flatMap((r) =>
    r.restoring && r.service.storage ? [r.service.storage] : [],
  );
  return {
    customerId,
    plans: apps.map((a) => a.resources),
    ...(extraVolumes.length > 0 ? { extraVolumes } : {}),
    // One app that needs "baseline" sets the level of the whole namespace.
    podSecurity: apps.some((a) => a.podSecurity === "baseline") ? "baseline" : "restricted",
  };
}
