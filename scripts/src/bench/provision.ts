/**
 * `npm run bench -- provision`: the provisioner against a real API server
 * (the Kubernetes test lab with KWOK), in-process, on a real database:
 *   - subscription.activated delivered -> instance.running recorded,
 *     p50/p99 over 10 instances one at a time, then over PROVISION_COUNT (50)
 *     instances 8 deliveries at a time;
 *   - the reconcile sweep (POST /cron/reconcile) over SWEEP_COUNT (500)
 *     instances: duration, listing requests and every API request it made.
 *
 *   source "$(scripts/k8s/start.sh)" && BENCH_DATABASE_URL=postgres://... npm run bench -- provision
 *
 * Without a lab (MINISPOD_TEST_KUBECONFIG or KUBECONFIG) it says so and
 * stops. Customer namespaces are prefixed "bench-prov-"; their deletion is
 * started at the end.
 */
import { randomUUID } from "node:crypto";
import { CoreV1Api } from "@kubernetes/client-node";
import { defaultClusterConfig } from "@minispod/cluster";
import { createKubernetesCluster, loadKubeConfig } from "@minispod/cluster/kubernetes";
import {
  createDb,
  type Db,
  instanceStatusEvents,
  outboxEvents,
  serviceCatalog,
  serviceInstances,
  subscriptions,
  users,
} from "@minispod/db";
import { provisionerFunction } from "@minispod/fn-provisioner";
import { createApp } from "@minispod/fn-provisioner/app";
import { fullType, parseEnv, toBinaryHttp } from "@minispod/shared";
import { and, eq, inArray } from "drizzle-orm";
import { inProcessContext } from "./harness";

const PROVISION_COUNT = Number(process.env.PROVISION_COUNT ?? 50);
const SWEEP_COUNT = Number(process.env.SWEEP_COUNT ?? 500);
const CONCURRENCY = 8;
const PER_CUSTOMER = 10;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};
const ms = (n: number) => `${n.toFixed(0)} ms`;

async function pool<T>(items: T[], work: (item: T) => Promise<void>, concurrency = CONCURRENCY) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

interface Made {
  userId: string;
  subscriptionId: string;
  instanceId: string;
}

/** ACTIVE subscriptions with PENDING instances, as the subscriptions function leaves them. */
async function seed(db: Db, serviceId: string, count: number): Promise<Made[]> {
  const made: Made[] = [];
  let userId = "";
  for (let i = 0; i < count; i++) {
    if (i % PER_CUSTOMER === 0) {
      const [user] = await db
        .insert(users)
        .values({ email: `bench-${randomUUID()}@example.com`, name: "Bench", passwordHash: "x" })
        .returning();
      userId = user!.id;
    }
    const now = new Date();
    const [subscription] = await db
      .insert(subscriptions)
      .values({
        userId,
        serviceId,
        status: "ACTIVE",
        currentPeriodStart: now,
        currentPeriodEnd: new Date(now.getTime() + 30 * 86_400_000),
        exclusive: false,
      })
      .returning();
    const name = `bench-${subscription!.id}`;
    const [instance] = await db
      .insert(serviceInstances)
      .values({
        subscriptionId: subscription!.id,
        namespace: "pending",
        objectName: name,
        host: `${name}.apps.localhost`,
        url: `https://${name}.apps.localhost`,
      })
      .returning();
    await db
      .insert(instanceStatusEvents)
      .values({ instanceId: instance!.id, status: "PENDING", message: "Waiting." });
    made.push({ userId, subscriptionId: subscription!.id, instanceId: instance!.id });
  }
  return made;
}

function activatedEvent(m: Made, serviceId: string) {
  const now = new Date().toISOString();
  return toBinaryHttp({
    id: randomUUID(),
    type: fullType("subscription.activated"),
    source: "bench",
    subject: m.subscriptionId,
    time: now,
    data: {
      userId: m.userId,
      subscriptionId: m.subscriptionId,
      serviceId,
      serviceSlug: "whoami",
      serviceName: "whoami",
      status: "ACTIVE",
      currentPeriodStart: now,
      currentPeriodEnd: now,
      autoRenew: true,
    },
  });
}

export async function provisionBench() {
  const kubeconfig = process.env.MINISPOD_TEST_KUBECONFIG || process.env.KUBECONFIG;
  if (!kubeconfig) {
    console.log(
      '\nprovision: skipped, no Kubernetes lab (source "$(scripts/k8s/start.sh)" first; it sets MINISPOD_TEST_KUBECONFIG)',
    );
    return;
  }
  const url = process.env.BENCH_DATABASE_URL ?? "pglite://memory";
  const database = createDb(url, { max: 10 });
  await database.migrate();
  await database.migrateDev();
  const db = database.db;
  const env = parseEnv(provisionerFunction.envSchema as never, {
    DATABASE_URL: url,
    LOG_LEVEL: "silent",
    K8S_DRIVER: "kubernetes",
    K8S_NAMESPACE_PREFIX: "bench-prov-",
    // The follow loop records RUNNING; poll often so it measures the cluster, not the poll.
    PROVISION_POLL_MS: "25",
    RECONCILE_PAGE_SIZE: "250",
  }) as Parameters<typeof createApp>[0]["env"];
  const ctx = await inProcessContext(provisionerFunction, env, database);
  const kc = loadKubeConfig(kubeconfig);
  const cluster = createKubernetesCluster({
    config: { ...defaultClusterConfig, namespacePrefix: "bench-prov-" },
    kubeConfig: kc,
  });
  const app = createApp({ ...ctx, cluster });
  const [service] = await db
    .insert(serviceCatalog)
    .values({
      slug: `whoami-${randomUUID().slice(0, 8)}`,
      name: "whoami",
      image: "traefik/whoami",
      imageTag: "v1.10",
      port: 8080,
      cpu: "10m",
      memory: "16Mi",
      priceMinor: 100,
      currency: "EUR",
    })
    .returning();
  const serviceId = service!.id;
  const all: Made[] = [];

  try {
    // 1. activated -> running: one at a time (the path's own cost), then 8 at a time.
    const activateAndWait = async (m: Made, latencies: number[]) => {
      const started = performance.now();
      const { headers, body } = activatedEvent(m, serviceId);
      const res = await app.request("/events", { method: "POST", headers, body });
      if (res.status !== 200) throw new Error(`activation answered ${res.status}`);
      for (;;) {
        const [running] = await db
          .select({ id: outboxEvents.id })
          .from(outboxEvents)
          .where(
            and(
              eq(outboxEvents.subject, m.instanceId),
              eq(outboxEvents.type, fullType("instance.running")),
            ),
          );
        if (running) break;
        if (performance.now() - started > 60_000) throw new Error("instance never ran");
        await new Promise((r) => setTimeout(r, 10));
      }
      latencies.push(performance.now() - started);
    };
    console.log(
      "\nprovision: subscription.activated -> instance.running (kubernetes driver, lab with KWOK)",
    );
    for (const [count, concurrency] of [
      [10, 1],
      [PROVISION_COUNT, CONCURRENCY],
    ] as const) {
      const batch = await seed(db, serviceId, count);
      all.push(...batch);
      const latencies: number[] = [];
      await pool(batch, (m) => activateAndWait(m, latencies), concurrency);
      console.log(
        `  ${count} instances, ${concurrency} at a time: p50 ${ms(pct(latencies, 50))}, p99 ${ms(pct(latencies, 99))}`,
      );
    }

    // 2. Fill up to SWEEP_COUNT instances, then sweep with everything in place.
    const rest = await seed(db, serviceId, Math.max(0, SWEEP_COUNT - all.length));
    all.push(...rest);
    const filling = performance.now();
    await pool(rest, async (m) => {
      const { headers, body } = activatedEvent(m, serviceId);
      const res = await app.request("/events", { method: "POST", headers, body });
      if (res.status !== 200) throw new Error(`activation answered ${res.status}`);
    });
    console.log(`  provisioned ${rest.length} more in ${ms(performance.now() - filling)}`);
    const ids = all.map((m) => m.instanceId);
    for (;;) {
      const running = await db
        .select({ id: serviceInstances.id })
        .from(serviceInstances)
        .where(and(inArray(serviceInstances.id, ids), eq(serviceInstances.status, "RUNNING")));
      if (running.length === ids.length) break;
      await app.request("/cron/reconcile", { method: "POST" });
    }
    console.log(`\nreconcile sweep over ${ids.length} instances, all running (page 250):`);
    console.log("| sweep | instances | pages | listing requests | all API requests | duration |");
    console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (let round = 1; round <= 3; round++) {
      const before = cluster.requestCount;
      const started = performance.now();
      const res = await app.request("/cron/reconcile", { method: "POST" });
      const figures = (await res.json()) as Record<string, number>;
      const took = performance.now() - started;
      console.log(
        `| ${round} | ${figures.instances} | ${figures.pages} | ${figures.listApiCalls} | ` +
          `${cluster.requestCount - before} | ${ms(took)} |`,
      );
    }
  } finally {
    await ctx.closeAll();
    // Namespace deletion takes the namespace controller a while: start it, don't wait.
    const core = kc.makeApiClient(CoreV1Api);
    const customers = [...new Set(all.map((m) => m.userId))];
    await pool(customers, async (id) => {
      await core.deleteNamespace({ name: `bench-prov-${id}` }).catch(() => undefined);
    });
    await database.close();
  }
}
