import { randomUUID } from "node:crypto";
import { type ClusterPort, defaultClusterConfig } from "@minispod/cluster";
import { createSimulatedCluster, type SimulatedCluster } from "@minispod/cluster/simulated";
import {
  type Db,
  instanceStatusEvents,
  outboxEvents,
  type SubscriptionStatus,
  type serviceCatalog,
  serviceInstances,
  subscriptions,
} from "@minispod/db";
import {
  type AppEnv,
  type CloudEventMessage,
  type EventType,
  fullType,
  toBinaryHttp,
} from "@minispod/shared";
import {
  createHarness,
  type Harness,
  seedCatalogEntry,
  type TestUser,
} from "@minispod/shared/testing";
import { asc, eq } from "drizzle-orm";
import type { Hono } from "hono";
import { createApp } from "../src/app";
import type { ProvisionerDeps } from "../src/deps";
import { provisionerFunction } from "../src/function";

export interface ProvisionerTest {
  h: Harness;
  app: Hono<AppEnv>;
  deps: ProvisionerDeps;
  cluster: SimulatedCluster;
  /** An app over the same database with another cluster (a failing one, say). */
  appWith(cluster: ClusterPort): Hono<AppEnv>;
}

/**
 * The provisioner over a real database with the simulated cluster on the
 * harness's clock (set `h.clock.now` to move time; nothing sleeps).
 */
export async function setupProvisioner(
  options: { delayMs?: number; env?: Record<string, string> } = {},
): Promise<ProvisionerTest> {
  const h = await createHarness();
  const cluster = createSimulatedCluster({
    db: h.database.db,
    config: defaultClusterConfig,
    delayMs: options.delayMs ?? 0,
    now: () => h.clock.now,
  });
  const env = { PROVISION_POLL_MS: "0", PROVISION_TIMEOUT: "10m", ...options.env };
  const deps: ProvisionerDeps = { ...h.context(provisionerFunction, env), cluster };
  return {
    h,
    app: createApp(deps),
    deps,
    cluster,
    appWith: (other) => createApp({ ...deps, cluster: other }),
  };
}

export type Catalog = typeof serviceCatalog.$inferSelect;

export const seedService = seedCatalogEntry;

export interface Subscribed {
  user: TestUser;
  service: Catalog;
  subscriptionId: string;
  instanceId: string;
}

/**
 * An ACTIVE subscription with its PENDING instance, as the subscriptions
 * function leaves them at activation (row, placement and first timeline line).
 */
export async function activeSubscription(
  h: Harness,
  options: { user?: TestUser; service?: Catalog; status?: SubscriptionStatus } = {},
): Promise<Subscribed> {
  const db = h.database.db;
  const user = options.user ?? (await h.user());
  const service = options.service ?? (await seedService(db));
  const now = new Date();
  const [subscription] = await db
    .insert(subscriptions)
    .values({
      userId: user.id,
      serviceId: service.id,
      status: options.status ?? "ACTIVE",
      currentPeriodStart: now,
      currentPeriodEnd: new Date(now.getTime() + 30 * 86_400_000),
      exclusive: false,
    })
    .returning();
  const objectName = `${service.slug}-${subscription!.id.slice(0, 8)}`;
  const [instance] = await db
    .insert(serviceInstances)
    .values({
      subscriptionId: subscription!.id,
      namespace: `customer-${user.id}`,
      objectName,
      host: `${objectName}.apps.localhost`,
      url: `https://${objectName}.apps.localhost`,
    })
    .returning();
  await db
    .insert(instanceStatusEvents)
    .values({ instanceId: instance!.id, status: "PENDING", message: "Waiting to be provisioned." });
  return { user, service, subscriptionId: subscription!.id, instanceId: instance!.id };
}

/** What another function does to the subscription before it emits its event. */
export async function setSubscriptionStatus(
  db: Db,
  subscriptionId: string,
  status: SubscriptionStatus,
) {
  await db.update(subscriptions).set({ status }).where(eq(subscriptions.id, subscriptionId));
}

/** The `subscription.*` CloudEvent another function would emit for `s`. */
export function subscriptionEvent(
  type: EventType,
  s: Subscribed,
  overrides: Partial<CloudEventMessage> = {},
): CloudEventMessage {
  const now = new Date();
  return {
    id: randomUUID(),
    type: fullType(type),
    source: "subscriptions",
    subject: s.subscriptionId,
    time: now.toISOString(),
    data: {
      userId: s.user.id,
      subscriptionId: s.subscriptionId,
      serviceId: s.service.id,
      serviceSlug: s.service.slug,
      serviceName: s.service.name,
      status: "ACTIVE",
      currentPeriodStart: now.toISOString(),
      currentPeriodEnd: new Date(now.getTime() + 30 * 86_400_000).toISOString(),
      autoRenew: true,
    },
    ...overrides,
  };
}

/** What the broker does: POST the event in binary mode to `/events`. */
export function deliver(app: Pick<Hono<AppEnv>, "request">, event: CloudEventMessage) {
  const { headers, body } = toBinaryHttp(event);
  return app.request("/events", { method: "POST", headers, body });
}

export async function instanceRow(db: Db, instanceId: string) {
  const [row] = await db.select().from(serviceInstances).where(eq(serviceInstances.id, instanceId));
  return row!;
}

/** The instance's timeline, oldest first, as "STATUS message". */
export async function timeline(db: Db, instanceId: string) {
  const rows = await db
    .select()
    .from(instanceStatusEvents)
    .where(eq(instanceStatusEvents.instanceId, instanceId))
    .orderBy(asc(instanceStatusEvents.seq));
  return rows.map((r) => `${r.status} ${r.message}`);
}

/** Types of the instance.* events the instance emitted, oldest first. */
export async function emitted(db: Db, instanceId: string) {
  const rows = await db
    .select()
    .from(outboxEvents)
    .where(eq(outboxEvents.subject, instanceId))
    .orderBy(asc(outboxEvents.createdAt));
  return rows.map((r) => r.type.replace("dev.minispod.", ""));
}

export const refOf = (s: Subscribed) => ({ customerId: s.user.id, instanceId: s.instanceId });
