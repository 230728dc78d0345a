import { randomUUID } from "node:crypto";
import {
  type ClusterPort,
  defaultClusterConfig,
  instanceObjects,
  placementOf,
} from "@minispod/cluster";
import { createSimulatedCluster, type SimulatedCluster } from "@minispod/cluster/simulated";
import {
  type InstanceStatus,
  instanceStatusEvents,
  type serviceCatalog,
  serviceInstances,
  subscriptions,
} from "@minispod/db";
import type { AppEnv } from "@minispod/shared";
import {
  createHarness,
  type Harness,
  seedCatalogEntry,
  type TestUser,
} from "@minispod/shared/testing";
import type { Hono } from "hono";
import { createApp } from "../src/app";
import type { InstancesDeps } from "../src/deps";
import { instancesFunction } from "../src/function";

export interface InstancesTest {
  h: Harness;
  app: Hono<AppEnv>;
  deps: InstancesDeps;
  cluster: SimulatedCluster;
  customer: TestUser;
  other: TestUser;
  admin: TestUser;
  appWith(cluster: ClusterPort): Hono<AppEnv>;
}

/** The instances API over a real database, the simulated cluster on the harness's clock. */
export async function setupInstances(options: { delayMs?: number } = {}): Promise<InstancesTest> {
  const h = await createHarness();
  const cluster = createSimulatedCluster({
    db: h.database.db,
    config: defaultClusterConfig,
    delayMs: options.delayMs ?? 0,
    now: () => h.clock.now,
  });
  const deps: InstancesDeps = { ...h.context(instancesFunction), cluster };
  return {
    h,
    app: createApp(deps),
    deps,
    cluster,
    customer: await h.user(),
    other: await h.user(),
    admin: await h.user({ role: "ADMIN" }),
    appWith: (other) => createApp({ ...deps, cluster: other }),
  };
}

export interface Made {
  id: string;
  subscriptionId: string;
  userId: string;
}

/**
 * An instance as the provisioner leaves it: rows in the database and, unless
 * PENDING/DELETED, its objects applied to the simulated cluster. The
 * provisioner is another function, so this test builds the state itself.
 */
export async function makeInstance(
  t: InstancesTest,
  user: TestUser,
  status: InstanceStatus = "RUNNING",
  catalog: Partial<typeof serviceCatalog.$inferInsert> = {},
): Promise<Made> {
  const db = t.h.database.db;
  const service = await seedCatalogEntry(db, { storage: null, storageMountPath: null, ...catalog });
  const now = new Date();
  const [subscription] = await db
    .insert(subscriptions)
    .values({
      userId: user.id,
      serviceId: service.id,
      status: status === "SUSPENDED" ? "EXPIRED" : status === "DELETED" ? "CANCELLED" : "ACTIVE",
      currentPeriodStart: now,
      currentPeriodEnd: new Date(now.getTime() + 30 * 86_400_000),
      exclusive: false,
    })
    .returning();
  const id = randomUUID();
  await db.insert(serviceInstances).values({
    id,
    subscriptionId: subscription!.id,
    ...placementOf(instanceObjects(defaultClusterConfig, { customerId: user.id, instanceId: id })),
    status,
  });
  await db.insert(instanceStatusEvents).values([
    { instanceId: id, status: "PENDING", message: "Waiting to be provisioned." },
    { instanceId: id, status, message: `${status} for the test.` },
  ]);
  if (status !== "PENDING" && status !== "DELETED") {
    const ref = { customerId: user.id, instanceId: id };
    await t.cluster.ensureNamespace({ customerId: user.id, plans: [] });
    await t.cluster.applyInstance({
      ...ref,
      suspended: status === "SUSPENDED",
      app: {
        slug: service.slug,
        image: "gitea/gitea",
        imageTag: "1.22",
        port: 3000,
        resources: { cpu: "250m", memory: "256Mi" },
      },
    });
  }
  return { id, subscriptionId: subscription!.id, userId: user.id };
}
