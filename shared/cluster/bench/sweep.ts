/**
 * Figures of the kubernetes driver against a real API server (the test lab):
 *   - applyInstance -> running (KWOK), p50/p99 over APPLY_COUNT instances
 *   - the reconcile sweep over SWEEP_COUNT instances: duration and API
 *     requests per page size, against one readStatus per instance
 *
 *   source "$(scripts/k8s/start.sh)" && npm run bench -w @minispod/cluster
 *
 * Uses the kubeconfig in MINISPOD_TEST_KUBECONFIG (else KUBECONFIG). Creates
 * namespaces prefixed "bench-" and starts their deletion at the end.
 */
import { randomUUID } from "node:crypto";
import { CoreV1Api } from "@kubernetes/client-node";
import { defaultClusterConfig } from "../src/config";
import { createKubernetesCluster, loadKubeConfig } from "../src/kubernetes";
import { namespaceName } from "../src/names";
import type { AppSpec, InstanceRef } from "../src/port";

const SWEEP_COUNT = Number(process.env.SWEEP_COUNT ?? 500);
const APPLY_COUNT = Number(process.env.APPLY_COUNT ?? 50);
const PER_CUSTOMER = 10;
const CONCURRENCY = 8;

const kubeconfigPath = process.env.MINISPOD_TEST_KUBECONFIG || process.env.KUBECONFIG;
if (!kubeconfigPath) {
  console.error('no lab: source "$(scripts/k8s/start.sh)" first (sets MINISPOD_TEST_KUBECONFIG)');
  process.exit(1);
}
const kc = loadKubeConfig(kubeconfigPath);
const config = { ...defaultClusterConfig, namespacePrefix: "bench-" };
const cluster = createKubernetesCluster({ config, kubeConfig: kc });
const app: AppSpec = {
  slug: "whoami",
  image: "traefik/whoami",
  imageTag: "v1.10",
  port: 8080,
  resources: { cpu: "10m", memory: "16Mi" },
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};
const ms = (n: number) => `${n.toFixed(0)} ms`;

async function pool<T>(items: T[], work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

const customers = new Set<string>();
function refs(count: number): InstanceRef[] {
  const out: InstanceRef[] = [];
  let customerId = randomUUID();
  for (let i = 0; i < count; i++) {
    if (i % PER_CUSTOMER === 0) customerId = randomUUID();
    customers.add(customerId);
    out.push({ customerId, instanceId: randomUUID() });
  }
  return out;
}

async function ensureNamespaces(list: InstanceRef[]) {
  const ids = [...new Set(list.map((r) => r.customerId))];
  await pool(ids, async (customerId) => {
    const plans = list.filter((r) => r.customerId === customerId).map(() => app.resources);
    await cluster.ensureNamespace({ customerId, plans });
  });
}

async function applyToRunning() {
  const list = refs(APPLY_COUNT);
  await ensureNamespaces(list);
  const latencies: number[] = [];
  await pool(list, async (ref) => {
    const started = performance.now();
    await cluster.applyInstance({ ...ref, app });
    for (;;) {
      const s = await cluster.readStatus(ref);
      if (s.phase === "running") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    latencies.push(performance.now() - started);
  });
  console.log(
    `applyInstance -> running (KWOK), ${APPLY_COUNT} instances, ${CONCURRENCY} at a time: ` +
      `p50 ${ms(pct(latencies, 50))}, p99 ${ms(pct(latencies, 99))}`,
  );
}

async function sweep() {
  const list = refs(SWEEP_COUNT);
  const created = performance.now();
  await ensureNamespaces(list);
  await pool(list, async (ref) => {
    await cluster.applyInstance({ ...ref, app });
  });
  console.log(`created ${SWEEP_COUNT} instances in ${ms(performance.now() - created)}`);
  // Right away, most are still starting: each page also reads its unsettled instances' pods.
  {
    const started = performance.now();
    let calls = 0;
    let pages = 0;
    let starting = 0;
    let token: string | null = null;
    do {
      const page = await cluster.listStatuses({ limit: 250, continue: token });
      calls += page.apiCalls;
      pages++;
      starting += page.items.filter((i) => i.phase === "starting").length;
      token = page.continue;
    } while (token);
    console.log(
      `sweep while starting (page 250): ${pages} pages, ${calls} API requests, ${starting} starting, ${ms(performance.now() - started)}`,
    );
  }
  const mine = new Set(list.map((r) => r.instanceId));
  // Wait until every one runs, so each sweep below sees the same state.
  for (;;) {
    let running = 0;
    let token: string | null = null;
    do {
      const page = await cluster.listStatuses({ limit: 500, continue: token });
      running += page.items.filter((i) => mine.has(i.instanceId) && i.phase === "running").length;
      token = page.continue;
    } while (token);
    if (running === SWEEP_COUNT) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  console.log("\nsweep over every managed instance (all running):");
  console.log("| how | instances seen | pages | API requests | duration |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const limit of [100, 250, 500]) {
    const started = performance.now();
    let seen = 0;
    let pages = 0;
    let calls = 0;
    let token: string | null = null;
    do {
      const page = await cluster.listStatuses({ limit, continue: token });
      seen += page.items.length;
      calls += page.apiCalls;
      pages++;
      token = page.continue;
    } while (token);
    console.log(
      `| listStatuses, page ${limit} | ${seen} | ${pages} | ${calls} | ${ms(performance.now() - started)} |`,
    );
  }
  const before = cluster.requestCount;
  const started = performance.now();
  await pool(list, async (ref) => {
    await cluster.readStatus(ref);
  });
  console.log(
    `| readStatus per instance | ${SWEEP_COUNT} | - | ${cluster.requestCount - before} | ${ms(performance.now() - started)} |`,
  );
}

try {
  await applyToRunning();
  await sweep();
} finally {
  const core = kc.makeApiClient(CoreV1Api);
  await Promise.all(
    [...customers].map((id) =>
      core.deleteNamespace({ name: namespaceName(config, id) }).catch(() => null),
    ),
  );
}
