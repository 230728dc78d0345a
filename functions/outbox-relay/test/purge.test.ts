import { randomUUID } from "node:crypto";
import { outboxEvents, processedEvents } from "@minispod/db";
import { enqueueEvent } from "@minispod/shared";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { eq, inArray, sql } from "drizzle-orm";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outboxRelayFunction } from "../src/function";

let h: Harness;
let app: Hono;
const now = new Date("2026-11-27T12:00:00.000Z");
const daysAgo = (d: number) => new Date(now.getTime() - d * 86_400_000);

beforeAll(async () => {
  h = await createHarness();
  h.clock.now = now;
  // Two batches of 1,000 per table and run, so 2,500 old rows take two runs.
  app = (await h.app(outboxRelayFunction, {
    EVENT_PURGE_MAX_BATCHES: "2",
  })) as unknown as Hono;
});
afterAll(() => h.close());

/** An outbox row written `createdDaysAgo`, published `publishedDaysAgo` (null: still unsent). */
async function outboxRow(createdDaysAgo: number, publishedDaysAgo: number | null) {
  const userId = randomUUID();
  const id = await h.database.db.transaction((tx) =>
    enqueueEvent(tx, {
      type: "user.password_changed",
      source: "auth",
      subject: userId,
      data: { userId, email: "a@example.com" },
    }),
  );
  await h.database.db
    .update(outboxEvents)
    .set({
      createdAt: daysAgo(createdDaysAgo),
      time: daysAgo(createdDaysAgo),
      publishedAt: publishedDaysAgo === null ? null : daysAgo(publishedDaysAgo),
    })
    .where(eq(outboxEvents.id, id));
  return id;
}

/** `count` records of handled events, `days` old, under one consumer name. */
async function handled(consumer: string, count: number, days: number) {
  await h.database.db.execute(sql`
    insert into processed_events (consumer, source, event_id, type, created_at)
    select ${consumer}, 'auth', gen_random_uuid()::text, 'dev.minispod.user.password_changed',
           ${daysAgo(days).toISOString()}::timestamptz
    from generate_series(1, ${count}::int)`);
}

const left = async (consumer: string) =>
  (
    await h.database.db
      .select({ id: processedEvents.eventId })
      .from(processedEvents)
      .where(eq(processedEvents.consumer, consumer))
  ).length;

const purge = async () => {
  const res = await app.request("/cron/purge", { method: "POST" });
  expect(res.status).toBe(200);
  return res.json();
};

describe("POST /cron/purge", () => {
  it("deletes published outbox rows past OUTBOX_RETENTION and keeps unsent ones whatever their age", async () => {
    const old = await outboxRow(9, 8);
    const recent = await outboxRow(7, 6);
    const unsent = await outboxRow(40, null);
    const body = await purge();
    expect(body).toMatchObject({ job: "purge", outbox: { purged: 1, more: false } });
    const rows = await h.database.db
      .select({ id: outboxEvents.id })
      .from(outboxEvents)
      .where(inArray(outboxEvents.id, [old, recent, unsent]));
    expect(rows.map((r) => r.id).sort()).toEqual([recent, unsent].sort());
  });

  it("forgets handled events past PROCESSED_EVENTS_RETENTION in bounded runs, the next run continuing", async () => {
    await handled("old-consumer", 2500, 31);
    await handled("recent-consumer", 10, 29);
    expect(await purge()).toMatchObject({ processed: { purged: 2000, more: true } });
    expect(await left("old-consumer")).toBe(500);
    expect(await purge()).toMatchObject({ processed: { purged: 500, more: false } });
    expect(await left("old-consumer")).toBe(0);
    expect(await left("recent-consumer")).toBe(10);
    const text = await (await app.request("/metrics")).text();
    expect(text).toMatch(
      /^minispod_event_records_purged_total\{table="processed_events",function="outbox-relay"\} 2500$/m,
    );
    expect(text).toMatch(
      /^minispod_event_records_purged_total\{table="outbox_events",function="outbox-relay"\} 1$/m,
    );
  });

  it("splits the rows between overlapping runs: each old row is deleted once, none twice", async () => {
    await handled("overlap", 3000, 40);
    const ids = await Promise.all(Array.from({ length: 6 }, () => outboxRow(20, 15)));
    const runs = await Promise.all([purge(), purge(), purge()]);
    const processed = runs.reduce((n, r) => n + r.processed.purged, 0);
    const outbox = runs.reduce((n, r) => n + r.outbox.purged, 0);
    // Each run may take up to 2,000; whatever one skipped (locked by another), a later run takes.
    const after = await purge();
    expect(processed + after.processed.purged).toBe(3000);
    expect(outbox + after.outbox.purged).toBe(6);
    expect(await left("overlap")).toBe(0);
    const rows = await h.database.db
      .select()
      .from(outboxEvents)
      .where(inArray(outboxEvents.id, ids));
    expect(rows).toHaveLength(0);
  });
});
