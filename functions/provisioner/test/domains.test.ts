import { randomUUID } from "node:crypto";
import { instanceDomains, outboxEvents, serviceInstances } from "@minispod/db";
import { type CloudEventMessage, fullType } from "@minispod/shared";
import { startTestDnsServer, type TestDnsServer } from "@minispod/shared/testing";
import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  activeSubscription,
  deliver,
  type ProvisionerTest,
  refOf,
  type Subscribed,
  setupProvisioner,
  subscriptionEvent,
} from "./helpers";

const DELAY = 1000;
let t: ProvisionerTest;
let dns: TestDnsServer;
const db = () => t.h.database.db;
const advance = (ms: number) => {
  t.h.clock.now = new Date(t.h.clock.now.getTime() + ms);
};
let counter = 0;
const fresh = () => `site-${++counter}.example.org`;

beforeAll(async () => {
  dns = await startTestDnsServer();
  t = await setupProvisioner({
    delayMs: DELAY,
    env: { DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: "300", DOMAIN_ISSUE_TIMEOUT: "1h" },
  });
  t.h.clock.now = new Date("2026-03-01T12:00:00Z");
});
afterAll(async () => {
  await dns.close();
  await t.h.close();
});

/** A provisioned instance (its workload in the simulated cluster). */
async function running(): Promise<Subscribed> {
  const s = await activeSubscription(t.h);
  expect((await deliver(t.app, subscriptionEvent("subscription.activated", s))).status).toBe(200);
  return s;
}

/** A claim as the instances API leaves it, verified or not. */
async function claim(s: Subscribed, domain: string, verified: boolean) {
  const [row] = await db()
    .insert(instanceDomains)
    .values({
      instanceId: s.instanceId,
      userId: s.user.id,
      domain,
      token: `tok-${randomUUID()}`,
      state: verified ? "ISSUING" : "PENDING_VERIFICATION",
      verifiedAt: verified ? t.h.clock.now : null,
      stateChangedAt: t.h.clock.now,
      createdAt: t.h.clock.now,
    })
    .returning();
  return row!;
}

const domainEvent = (
  type: "domain.verified" | "domain.removed",
  row: typeof instanceDomains.$inferSelect,
): CloudEventMessage => ({
  id: randomUUID(),
  type: fullType(type),
  source: "instances",
  subject: row.id,
  time: t.h.clock.now.toISOString(),
  data: {
    userId: row.userId,
    domainId: row.id,
    instanceId: row.instanceId,
    domain: row.domain,
    state: row.state,
    reason: null,
  },
});

const stateOf = async (id: string) => {
  const [row] = await db().select().from(instanceDomains).where(eq(instanceDomains.id, id));
  return row;
};
const eventsOf = async (id: string) =>
  (
    await db()
      .select()
      .from(outboxEvents)
      .where(eq(outboxEvents.subject, id))
      .orderBy(asc(outboxEvents.createdAt))
  ).map((e) => e.type.replace("dev.minispod.", ""));
const sweep = async () => {
  const response = await t.app.request("/cron/domains", { method: "POST" });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, number>;
};

describe("domain.verified and domain.removed", () => {
  it("routes a verified domain and requests its certificate; the sweep records ACTIVE once issued", async () => {
    const s = await running();
    const row = await claim(s, fresh(), true);
    const response = await deliver(t.app, domainEvent("domain.verified", row));
    expect(response.status).toBe(200);
    expect(await t.cluster.readDomainStatus(refOf(s))).toEqual([
      expect.objectContaining({
        domain: row.domain,
        routed: true,
        tls: false,
        certificate: "issuing",
      }),
    ]);
    expect(await stateOf(row.id)).toMatchObject({
      state: "ISSUING",
      reason: "waiting for the certificate authority",
    });
    advance(2 * DELAY);
    await sweep();
    expect(await stateOf(row.id)).toMatchObject({
      state: "ACTIVE",
      reason: "serving with its certificate",
    });
    expect(await eventsOf(row.id)).toEqual(["domain.active"]);
    // A redelivery converges to the same thing and announces nothing new.
    expect((await deliver(t.app, domainEvent("domain.verified", row))).status).toBe(200);
    await sweep();
    expect(await eventsOf(row.id)).toEqual(["domain.active"]);
  });

  it("removes the route and certificate of a removed domain, keeping the others", async () => {
    const s = await running();
    const keep = await claim(s, fresh(), true);
    const gone = await claim(s, fresh(), true);
    await deliver(t.app, domainEvent("domain.verified", gone));
    expect((await t.cluster.readDomainStatus(refOf(s))).map((r) => r.domain).sort()).toEqual(
      [keep.domain, gone.domain].sort(),
    );
    await db().delete(instanceDomains).where(eq(instanceDomains.id, gone.id));
    expect((await deliver(t.app, domainEvent("domain.removed", gone))).status).toBe(200);
    expect((await t.cluster.readDomainStatus(refOf(s))).map((r) => r.domain)).toEqual([
      keep.domain,
    ]);
  });

  it("takes down the route of an instance's last domain even when its domain.removed was lost", async () => {
    const s = await running();
    const row = await claim(s, fresh(), true);
    await deliver(t.app, domainEvent("domain.verified", row));
    const routed = async () =>
      (await db().select().from(serviceInstances).where(eq(serviceInstances.id, s.instanceId)))[0]
        ?.routedDomains;
    expect(await routed()).toBe(1);
    // The owner removes it; the event never reaches the provisioner (dead-lettered).
    await db().delete(instanceDomains).where(eq(instanceDomains.id, row.id));
    expect(await t.cluster.readDomainStatus(refOf(s))).toHaveLength(1);
    await sweep();
    expect(await t.cluster.readDomainStatus(refOf(s))).toEqual([]);
    expect(await routed()).toBe(0);
  });

  it("records FAILED with the certificate authority's reason, and domain.failed", async () => {
    const s = await running();
    const row = await claim(s, `cert-fails.${fresh()}`, true);
    await deliver(t.app, domainEvent("domain.verified", row));
    const failed = await stateOf(row.id);
    expect(failed?.state).toBe("FAILED");
    expect(failed?.reason).toContain("could not reach the domain over HTTP");
    expect(await eventsOf(row.id)).toEqual(["domain.failed"]);
  });

  it("answers 422 to a domain event whose data does not match its schema", async () => {
    const event = {
      ...domainEvent("domain.verified", await claim(await running(), fresh(), true)),
      data: { instanceId: 42 },
    };
    expect((await deliver(t.app, event)).status).toBe(422);
  });
});

describe("POST /cron/domains", () => {
  it("verifies a pending claim once its TXT record appears (against a real DNS server)", async () => {
    const s = await running();
    const row = await claim(s, fresh(), false);
    await sweep();
    expect(await stateOf(row.id)).toMatchObject({
      state: "PENDING_VERIFICATION",
      reason: `no TXT record found at _minispod-challenge.${row.domain}`,
    });
    dns.set(`_minispod-challenge.${row.domain}`, "TXT", [row.token]);
    const result = await sweep();
    expect(result.verified).toBeGreaterThanOrEqual(1);
    const verified = await stateOf(row.id);
    expect(verified?.state).not.toBe("PENDING_VERIFICATION");
    expect(verified?.verifiedAt).not.toBeNull();
    // The same sweep routed it (no event round trip needed).
    expect((await t.cluster.readDomainStatus(refOf(s))).map((r) => r.domain)).toContain(row.domain);
    expect((await eventsOf(row.id))[0]).toBe("domain.verified");
  });

  it("fails a claim not verified within DOMAIN_VERIFY_WINDOW", async () => {
    const s = await running();
    const row = await claim(s, fresh(), false);
    advance(8 * 86_400_000);
    await sweep();
    expect(await stateOf(row.id)).toMatchObject({
      state: "FAILED",
      reason: 'the TXT record was not found within 7 days; create it and press "check now"',
    });
    expect(await eventsOf(row.id)).toEqual(["domain.failed"]);
  });

  it("fails a certificate not issued within DOMAIN_ISSUE_TIMEOUT, saying what to check", async () => {
    const s = await running();
    const row = await claim(s, fresh(), true);
    // A cluster whose certificates never get issued.
    const stuck = t.appWith({
      ...t.cluster,
      readDomainStatus: async (ref) =>
        (await t.cluster.readDomainStatus(ref)).map((r) => ({
          ...r,
          certificate: "issuing" as const,
          tls: false,
          reason: "waiting for the certificate authority",
        })),
    });
    await stuck.request("/cron/domains", { method: "POST" });
    expect((await stateOf(row.id))?.state).toBe("ISSUING");
    advance(61 * 60_000);
    await stuck.request("/cron/domains", { method: "POST" });
    const failed = await stateOf(row.id);
    expect(failed?.state).toBe("FAILED");
    expect(failed?.reason).toContain(`check that ${row.domain} has a CNAME record pointing at`);
  });

  it("releases the domains of a deleted instance, so the name can be claimed again", async () => {
    const s = await running();
    const row = await claim(s, fresh(), true);
    await db()
      .update(serviceInstances)
      .set({ status: "DELETED" })
      .where(eq(serviceInstances.id, s.instanceId));
    const result = await sweep();
    expect(result.released).toBeGreaterThanOrEqual(1);
    expect(await stateOf(row.id)).toBeUndefined();
    const removed = await db()
      .select()
      .from(outboxEvents)
      .where(
        and(eq(outboxEvents.subject, row.id), eq(outboxEvents.type, fullType("domain.removed"))),
      );
    expect(removed).toHaveLength(1);
  });
});
