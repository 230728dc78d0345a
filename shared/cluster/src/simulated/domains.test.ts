import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isClusterError } from "../port";
import { type SimulatedCluster, simulatedIssueMs } from "./index";
import { openSimulatedCluster } from "./test-setup";

// Custom domains on the simulated cluster (local mode), against real PostgreSQL with an
// injected clock: routed at once, certificates ready after the simulated delay.
let close: () => Promise<void>;
const clock = { now: new Date("2026-01-01T00:00:00Z") };
const DELAY = 1000;
let cluster: SimulatedCluster;
const advance = (ms: number) => {
  clock.now = new Date(clock.now.getTime() + ms);
};

async function provisioned() {
  const ref = { customerId: randomUUID(), instanceId: randomUUID() };
  await cluster.ensureNamespace({ customerId: ref.customerId, plans: [] });
  await cluster.applyInstance({
    ...ref,
    app: {
      slug: "whoami",
      image: "traefik/whoami",
      imageTag: "v1.10",
      port: 8080,
      resources: { cpu: "100m", memory: "64Mi" },
    },
  });
  return ref;
}

beforeAll(async () => {
  ({ cluster, close } = await openSimulatedCluster({
    delayMs: DELAY,
    now: () => clock.now,
  }));
});
afterAll(() => close());

describe("simulated custom domains", () => {
  it("routes domains at once and issues their certificates after the simulated delay", async () => {
    const ref = await provisioned();
    expect(await cluster.readDomainStatus(ref)).toEqual([]);
    const routes = await cluster.setInstanceDomains(ref, [
      "b.example.com",
      "a.example.com",
      "a.example.com",
    ]);
    expect(routes.map((r) => [r.domain, r.routed, r.tls, r.certificate])).toEqual([
      ["a.example.com", true, false, "issuing"],
      ["b.example.com", true, false, "issuing"],
    ]);
    advance(simulatedIssueMs(DELAY) - 1);
    expect((await cluster.readDomainStatus(ref)).every((r) => r.certificate === "issuing")).toBe(
      true,
    );
    advance(1);
    expect(await cluster.readDomainStatus(ref)).toEqual([
      {
        domain: "a.example.com",
        routed: true,
        tls: true,
        certificate: "ready",
        reason: "certificate issued",
      },
      {
        domain: "b.example.com",
        routed: true,
        tls: true,
        certificate: "ready",
        reason: "certificate issued",
      },
    ]);
  });

  it("converges like server-side apply: a kept domain keeps its certificate, a dropped one goes", async () => {
    const ref = await provisioned();
    await cluster.setInstanceDomains(ref, ["keep.example.com", "drop.example.com"]);
    advance(simulatedIssueMs(DELAY));
    const routes = await cluster.setInstanceDomains(ref, ["keep.example.com", "new.example.com"]);
    expect(routes.map((r) => [r.domain, r.certificate])).toEqual([
      ["keep.example.com", "ready"],
      ["new.example.com", "issuing"],
    ]);
    expect(await cluster.setInstanceDomains(ref, [])).toEqual([]);
    expect(await cluster.readDomainStatus(ref)).toEqual([]);
  });

  it("fails the certificate of a cert-fails. domain, saying why", async () => {
    const ref = await provisioned();
    const [route] = await cluster.setInstanceDomains(ref, ["cert-fails.example.com"]);
    expect(route).toMatchObject({ certificate: "failed", tls: false, routed: true });
    expect(route?.reason).toContain("could not reach the domain over HTTP");
  });

  it("refuses domains for an instance it does not hold, or another customer's", async () => {
    const ref = await provisioned();
    const stranger = { customerId: randomUUID(), instanceId: ref.instanceId };
    await expect(cluster.setInstanceDomains(stranger, ["x.example.com"])).rejects.toSatisfy((e) =>
      isClusterError(e, "not_found"),
    );
    expect(await cluster.readDomainStatus(stranger)).toEqual([]);
  });

  it("deletes an instance's domains with the instance", async () => {
    const ref = await provisioned();
    await cluster.setInstanceDomains(ref, ["gone.example.com"]);
    await cluster.deleteInstance(ref);
    expect(await cluster.readDomainStatus(ref)).toEqual([]);
  });
});
