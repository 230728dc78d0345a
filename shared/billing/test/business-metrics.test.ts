import { randomUUID } from "node:crypto";
import { deadEvents, outboxEvents } from "@minispod/db";
import { createMetrics } from "@minispod/shared";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerBusinessMetrics } from "../src/business-metrics";

/**
 * The business gauges' grouped counts read whole tables, so they are read at
 * most once per `cacheSeconds` of the injected clock; the outbox backlog stays
 * live. Real PostgreSQL; each scrape is read from the /metrics text.
 */
let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

/** One scrape: the sum of a metric's samples whose labels contain `label`. */
async function scrape(metrics: ReturnType<typeof createMetrics>) {
  const text = await metrics.registry.metrics();
  return (name: string, label = "") =>
    text
      .split("\n")
      .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      .filter((line) => line.includes(label))
      .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

/** `n` dead letters of a type of their own, and one unsent outbox event. */
async function somethingHappens(type: string, n: number) {
  await h.database.db
    .insert(deadEvents)
    .values(Array.from({ length: n }, () => ({ eventId: randomUUID(), source: "test", type })));
  await h.database.db
    .insert(outboxEvents)
    .values({ type: "dev.minispod.test.happened", source: "test", subject: type, data: {} });
}

describe("business gauges", () => {
  it("read the grouped counts at most once per cacheSeconds; the outbox backlog stays live", async () => {
    let now = new Date("2027-01-10T12:00:00.000Z");
    const metrics = createMetrics("relay", { defaultMetrics: false });
    registerBusinessMetrics(metrics, h.database.db, () => now, { cacheSeconds: 60 });
    const type = `dev.minispod.test.${randomUUID()}`;
    const label = `type="${type}"`;

    const first = await scrape(metrics);
    expect(first("minispod_dead_events", label)).toBe(0);
    const backlog = first("minispod_outbox_backlog");

    // 30 s later: the count answers the cached figure, the backlog the new one.
    await somethingHappens(type, 3);
    now = new Date(now.getTime() + 30_000);
    const cached = await scrape(metrics);
    expect(cached("minispod_dead_events", label)).toBe(0);
    expect(cached("minispod_outbox_backlog")).toBe(backlog + 1);

    // 60 s after the first read, the next scrape reads them again.
    now = new Date(now.getTime() + 30_000);
    const fresh = await scrape(metrics);
    expect(fresh("minispod_dead_events", label)).toBe(3);
    expect(fresh("minispod_dead_events", `${label},replayed="false"`)).toBe(3);

    // A clock moved back (a restarted test clock) reads again too.
    await somethingHappens(type, 1);
    now = new Date(now.getTime() - 3_600_000);
    expect((await scrape(metrics))("minispod_dead_events", label)).toBe(4);
  });

  it("read on every scrape with cacheSeconds 0", async () => {
    const now = new Date("2027-01-10T12:00:00.000Z");
    const metrics = createMetrics("relay", { defaultMetrics: false });
    registerBusinessMetrics(metrics, h.database.db, () => now, { cacheSeconds: 0 });
    const type = `dev.minispod.test.${randomUUID()}`;
    expect((await scrape(metrics))("minispod_dead_events", `type="${type}"`)).toBe(0);
    await somethingHappens(type, 2);
    // The same instant on the clock: nothing is kept at 0.
    expect((await scrape(metrics))("minispod_dead_events", `type="${type}"`)).toBe(2);
  });
});
