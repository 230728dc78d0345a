import {
  billingSettingsOf,
  expireEndedSubscriptions,
  purgeExpiredSubscriptions,
} from "@minispod/billing";
import { seedCatalogService, seedDueSubscriptions } from "@minispod/billing/testing";
import {
  auditLog,
  createDb,
  type Database,
  type Db,
  outboxEvents,
  subscriptions,
} from "@minispod/db";
import { createEventSender } from "@minispod/shared";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { and, count, countDistinct, eq, inArray, isNull, ne } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { expirySweeperFunction } from "../src/function";

let h: Harness;
const pools: Database[] = [];
const start = new Date("2026-05-01T08:00:00.000Z");

beforeAll(async () => {
  h = await createHarness();
  h.clock.now = start;
});
afterAll(async () => {
  for (const pool of pools) await pool.close();
  await h.close();
});

const db = () => h.database.db;

/** `count` due subscriptions of a new service, their period ended an hour before `start`. */
async function due(count: number) {
  const service = await seedCatalogService(db());
  await seedDueSubscriptions(db(), {
    serviceId: service.id,
    count,
    periodEnd: new Date(start.getTime() - 3_600_000),
    autoRenew: false,
    customers: 50,
  });
  const rows = await db()
    .select({ id: subscriptions.id })
    .from(subscriptions)
    .where(eq(subscriptions.serviceId, service.id));
  return { serviceId: service.id, ids: rows.map((r) => r.id) };
}

/** What the expiry left behind for these subscriptions: states, events and audit rows. */
async function outcome(serviceId: string, ids: string[]) {
  const [notExpired] = await db()
    .select({ n: count() })
    .from(subscriptions)
    .where(and(eq(subscriptions.serviceId, serviceId), ne(subscriptions.status, "EXPIRED")));
  const [events] = await db()
    .select({ n: count(), subjects: countDistinct(outboxEvents.subject) })
    .from(outboxEvents)
    .where(
      and(
        eq(outboxEvents.type, "dev.minispod.subscription.expired"),
        inArray(outboxEvents.subject, ids),
      ),
    );
  const [audits] = await db()
    .select({ n: count(), resources: countDistinct(auditLog.resourceId) })
    .from(auditLog)
    .where(and(eq(auditLog.action, "subscription.expired"), inArray(auditLog.resourceId, ids)));
  return {
    notExpired: notExpired?.n,
    events: events?.n,
    eventSubjects: events?.subjects,
    audits: audits?.n,
    auditedSubscriptions: audits?.resources,
  };
}

/** The value of `name`'s series for `job` in a /metrics text (whatever the label order). */
function sample(text: string, name: string, job: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(`job="${job}"`));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

function sweepContext(database: Db) {
  return {
    db: database,
    logger: h.context(expirySweeperFunction).logger,
    source: "expiry-sweeper",
    settings: billingSettingsOf(h.context(expirySweeperFunction).env),
  };
}

describe("expiry sweep with batches in flight", () => {
  it("three replicas, each with three batches in flight, expire 2,000 subscriptions exactly once", async () => {
    const { serviceId, ids } = await due(2_000);
    const env = {
      EXPIRY_SWEEP_BATCH: "100",
      EXPIRY_SWEEP_MAX_BATCHES: "100",
      EXPIRY_SWEEP_CONCURRENCY: "3",
    };
    // Each replica has its own pool (room for its three batches) and event sender.
    const replicas = Array.from({ length: 3 }, () => {
      const database = createDb(h.databaseUrl, { max: 3 });
      pools.push(database);
      const deps = h.context(expirySweeperFunction, env);
      return createApp({
        ...deps,
        db: database.db,
        database,
        events: createEventSender(database.db, h.publisher, deps.logger),
      });
    });
    const runs = await Promise.all(
      replicas.map(async (app) => {
        const res = await app.request("/cron/expire", { method: "POST" });
        expect(res.status).toBe(200);
        return (await res.json()) as { changed: number; events: number; more: boolean };
      }),
    );
    // The work was split, not repeated.
    expect(runs.reduce((n, r) => n + r.changed, 0)).toBe(2_000);
    expect(runs.reduce((n, r) => n + r.events, 0)).toBe(2_000);
    expect(runs.every((r) => r.more === false)).toBe(true);
    // Each replica counts what its batches did, summed over the batches in flight.
    for (const [i, app] of replicas.entries()) {
      const text = await (await app.request("/metrics")).text();
      expect(sample(text, "sweep_rows_changed_total", "expire")).toBe(runs[i]!.changed);
      expect(sample(text, "sweep_run_duration_seconds_count", "expire")).toBe(1);
    }
    expect(await outcome(serviceId, ids)).toEqual({
      notExpired: 0,
      events: 2_000,
      eventSubjects: 2_000,
      audits: 2_000,
      auditedSubscriptions: 2_000,
    });
  });

  it("stops at maxBatches with batches in flight, says there is more, and the next runs finish", async () => {
    const { serviceId, ids } = await due(1_000);
    // Counts the statements in flight, to see the batches overlap (and no more than four).
    let inFlight = 0;
    let most = 0;
    const counted = new Proxy(db(), {
      get(target, property, receiver) {
        if (property !== "execute") return Reflect.get(target, property, receiver);
        return async (query: Parameters<Db["execute"]>[0]) => {
          most = Math.max(most, ++inFlight);
          try {
            return await target.execute(query);
          } finally {
            inFlight--;
          }
        };
      },
    });
    const options = {
      ctx: sweepContext(counted),
      now: start,
      batchSize: 100,
      maxBatches: 5,
      concurrency: 4,
    };
    const first = await expireEndedSubscriptions(options);
    expect(first).toMatchObject({ examined: 500, changed: 500, more: true });
    expect(first.eventIds).toHaveLength(500);
    expect(new Set(first.eventIds).size).toBe(500);
    expect(most).toBe(4);
    const second = await expireEndedSubscriptions(options);
    expect(second).toMatchObject({ changed: 500, more: true });
    // The run that finds nothing left ends on its first short batch.
    expect(await expireEndedSubscriptions(options)).toMatchObject({ changed: 0, more: false });
    expect((await outcome(serviceId, ids)).notExpired).toBe(0);
  });

  it("a failed batch stops new ones, lets those in flight commit, and throws; the next run converges", async () => {
    const { serviceId, ids } = await due(600);
    // The third statement fails as a lost connection would; the others run.
    let statements = 0;
    const flaky = new Proxy(db(), {
      get(target, property, receiver) {
        if (property !== "execute") return Reflect.get(target, property, receiver);
        return (query: Parameters<Db["execute"]>[0]) =>
          ++statements === 3
            ? Promise.reject(new Error("connection terminated"))
            : target.execute(query);
      },
    });
    const options = { now: start, batchSize: 100, maxBatches: 50, concurrency: 2 };
    await expect(
      expireEndedSubscriptions({ ...options, ctx: sweepContext(flaky) }),
    ).rejects.toThrow("connection terminated");
    // The two batches before the failure committed whole (and at most one that
    // started alongside it); none started after it.
    const afterFailure = await outcome(serviceId, ids);
    const done = 600 - (afterFailure.notExpired ?? 0);
    expect(done % 100).toBe(0);
    expect(done).toBeGreaterThanOrEqual(200);
    expect(done).toBeLessThanOrEqual(300);
    expect(afterFailure.events).toBe(done);
    expect(afterFailure.audits).toBe(done);

    const rest = await expireEndedSubscriptions({ ...options, ctx: sweepContext(db()) });
    expect(rest.changed).toBe(600 - done);
    expect(await outcome(serviceId, ids)).toEqual({
      notExpired: 0,
      events: 600,
      eventSubjects: 600,
      audits: 600,
      auditedSubscriptions: 600,
    });
  });

  it("on PGlite (npm start's database) batches in flight queue on its one connection: each row expired and purged once", async () => {
    const local = createDb("pglite://memory");
    pools.push(local);
    await local.migrate();
    const service = await seedCatalogService(local.db);
    await seedDueSubscriptions(local.db, {
      serviceId: service.id,
      count: 450,
      periodEnd: new Date(start.getTime() - 3_600_000),
      autoRenew: false,
      customers: 5,
    });
    const options = { ctx: sweepContext(local.db), batchSize: 100, maxBatches: 50, concurrency: 3 };
    const expired = await expireEndedSubscriptions({ ...options, now: start });
    expect(expired).toMatchObject({ changed: 450, more: false });
    expect(new Set(expired.eventIds).size).toBe(450);
    // The purge's batches are transactions of several statements each.
    const purged = await purgeExpiredSubscriptions({
      ...options,
      now: new Date(start.getTime() + 31 * 86_400_000),
    });
    expect(purged).toMatchObject({ changed: 450, more: false });
    const [left] = await local.db
      .select({ n: count() })
      .from(subscriptions)
      .where(and(eq(subscriptions.serviceId, service.id), isNull(subscriptions.purgedAt)));
    expect(left?.n).toBe(0);
    const [events] = await local.db
      .select({ n: count(), subjects: countDistinct(outboxEvents.subject) })
      .from(outboxEvents);
    expect(events).toEqual({ n: 900, subjects: 450 });
  });
});
