import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { defaultClusterConfig } from "../src/config";
import { createKubernetesCluster, type KubernetesCluster } from "../src/kubernetes";
import { namespaceName } from "../src/names";
import { ClusterError } from "../src/port";
import {
  describeCluster,
  type FaultProxy,
  labKubeConfig,
  startFaultProxy,
  uniqueId,
} from "../src/testing";

const config = { ...defaultClusterConfig, namespacePrefix: "t-retry-" };
const fast = { attempts: 4, baseDelayMs: 10, maxDelayMs: 50 };

describeCluster("retries over real HTTP through a fault-injecting proxy", () => {
  let kc: KubeConfig;
  let proxy: FaultProxy;
  let cluster: KubernetesCluster;
  const customers: string[] = [];
  const newCustomer = () => {
    const id = uniqueId();
    customers.push(id);
    return id;
  };
  const patches = (customerId: string) =>
    proxy.requests.filter(
      (r) =>
        r.method === "PATCH" && r.path.includes(`/namespaces/${namespaceName(config, customerId)}`),
    );

  beforeAll(async () => {
    kc = labKubeConfig();
    proxy = await startFaultProxy(kc);
    cluster = createKubernetesCluster({
      config,
      kubeConfig: proxy.kubeConfig,
      retry: fast,
      requestTimeoutMs: 500,
    });
  });
  afterEach(() => proxy.setFault(null));
  afterAll(async () => {
    await proxy.close();
    const core = kc.makeApiClient(CoreV1Api);
    await Promise.all(
      customers.map((id) =>
        core.deleteNamespace({ name: namespaceName(config, id) }).catch(() => null),
      ),
    );
  });

  it("retries 429 (honouring Retry-After) and 5xx, then succeeds", async () => {
    const customerId = newCustomer();
    const target = `/api/v1/namespaces/${namespaceName(config, customerId)}?`;
    let hits = 0;
    proxy.setFault((req) => {
      if (req.method !== "PATCH" || !req.path.startsWith(target)) return null;
      hits++;
      if (hits === 1) return { status: 429, retryAfterSeconds: 0 };
      if (hits === 2) return { status: 500 };
      if (hits === 3) return { status: 503 };
      return null;
    });
    await expect(cluster.ensureNamespace({ customerId, plans: [] })).resolves.toEqual({
      namespace: namespaceName(config, customerId),
    });
    expect(hits).toBe(4);
    expect(patches(customerId).length).toBeGreaterThan(4); // the namespace's objects followed
  });

  it("bounds a hanging request by the timeout and retries it", async () => {
    const customerId = newCustomer();
    const target = `/api/v1/namespaces/${namespaceName(config, customerId)}?`;
    let hits = 0;
    proxy.setFault((req) => {
      if (req.method !== "PATCH" || !req.path.startsWith(target)) return null;
      hits++;
      return hits === 1 ? { hangMs: 5_000 } : hits === 2 ? { reset: true } : null;
    });
    const started = Date.now();
    await cluster.ensureNamespace({ customerId, plans: [] });
    expect(hits).toBe(3);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("gives up after the last try with unavailable or timeout, both retryable", async () => {
    const customerId = newCustomer();
    proxy.setFault((req) => (req.method === "PATCH" ? { status: 503 } : null));
    const down = await cluster.ensureNamespace({ customerId, plans: [] }).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(ClusterError);
    expect(down).toMatchObject({ code: "unavailable", retryable: true, status: 503 });
    expect(proxy.requests.filter((r) => r.fault !== null)).toHaveLength(fast.attempts);

    proxy.setFault((req) => (req.method === "PATCH" ? { hangMs: 2_000 } : null));
    const slow = await cluster.ensureNamespace({ customerId, plans: [] }).catch((e: unknown) => e);
    expect(slow).toMatchObject({ code: "timeout", retryable: true });
  });

  it("reports 403 and 422 at once, without retrying", async () => {
    const customerId = newCustomer();
    for (const [status, code] of [
      [403, "forbidden"],
      [422, "invalid"],
    ] as const) {
      const before = proxy.requests.length;
      proxy.setFault((req) =>
        req.method === "PATCH" ? { status, message: `injected ${status}` } : null,
      );
      const error = await cluster
        .ensureNamespace({ customerId, plans: [] })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code, retryable: false, status });
      expect(proxy.requests.slice(before).filter((r) => r.method === "PATCH")).toHaveLength(1);
    }
  });

  it("a real 404 is an answer: reading a missing instance says missing", async () => {
    const status = await cluster.readStatus({ customerId: newCustomer(), instanceId: uniqueId() });
    expect(status).toMatchObject({ phase: "missing", reason: "not found in the cluster" });
  });
});
