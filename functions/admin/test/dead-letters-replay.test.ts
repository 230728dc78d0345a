import { auditLog, deadEvents, processedEvents } from "@minispod/db";
import {
  type AppEnv,
  type CloudEventMessage,
  createEventSender,
  type EventPublisher,
  type EventSender,
  recordAudit,
  systemActor,
  toBinaryHttp,
} from "@minispod/shared";
import { eventConsumerFunction, json } from "@minispod/shared/testing";
import { and, eq } from "drizzle-orm";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { deadLetter, enqueuePasswordChanged } from "./dead-letters-fixtures";
import { type AdminTest, setupAdmin } from "./helpers";

/**
 * The whole loop with a real consumer: an event fails at its consumer, the
 * broker dead-letters it, an admin replays it (twice), the outbox relays it
 * each time, and the consumer's effect happens exactly once.
 */
let t: AdminTest;
let admin: Hono<AppEnv>;
let adminEvents: EventSender;
let consumer: Hono<AppEnv>;
let consumerMetrics: () => Promise<string>;
let failing = true;
const answers: number[] = [];
const db = () => t.h.database.db;

const probe = eventConsumerFunction("probe", {
  "user.password_changed": async ({ tx, event }) => {
    if (failing) throw new Error("mail server down");
    // The consumer's effect, in the same transaction as its processed-event row.
    await recordAudit(tx, {
      actor: systemActor,
      action: "probe.handled",
      resourceType: "event",
      resourceId: event.id,
    });
  },
});

/** A broker with one Trigger (probe) that dead-letters what probe does not take, as Knative does after its retries. */
const broker: EventPublisher = {
  async publish(event: CloudEventMessage) {
    const { headers, body } = toBinaryHttp(event);
    const res = await consumer.request("/events", { method: "POST", headers, body });
    answers.push(res.status);
    if (!res.ok) await deadLetter(db(), event, "probe/events");
  },
};

beforeAll(async () => {
  t = await setupAdmin();
  const ctx = t.h.context(probe);
  consumer = probe.create(ctx) as Hono<AppEnv>;
  consumerMetrics = () => ctx.metrics.registry.metrics();
  adminEvents = createEventSender(db(), broker, t.deps.logger, t.deps.metrics);
  admin = createApp({ ...t.deps, publisher: broker, events: adminEvents });
});
afterAll(() => t.close());

const handled = (eventId: string) =>
  db()
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.action, "probe.handled"), eq(auditLog.resourceId, eventId)));

describe("replaying a dead letter", () => {
  it("gets it handled once by the consumer that failed, however often it is replayed", async () => {
    const eventId = await enqueuePasswordChanged(db(), t.customer.id);
    const sender = createEventSender(db(), broker, t.deps.logger);
    expect(await sender.flush([eventId])).toEqual({ published: 1, failed: 0 });
    expect(answers).toEqual([503]);
    const [letter] = await db().select().from(deadEvents).where(eq(deadEvents.eventId, eventId));
    expect(letter).toMatchObject({ source: "auth", type: "dev.minispod.user.password_changed" });
    expect(await handled(eventId)).toHaveLength(0);

    failing = false; // the mail server is back
    const headers = t.h.bearer(t.admin);
    const once = await admin.request(`/api/v1/admin/dead-letters/${letter!.id}/replay`, {
      method: "POST",
      headers,
    });
    expect(once.status).toBe(200);
    // The admin app relays right after the commit, in the background.
    await adminEvents.idle();
    expect(answers).toEqual([503, 200]);
    expect(await handled(eventId)).toHaveLength(1);

    const twice = await admin.request(
      "/api/v1/admin/dead-letters/replay",
      json({ ids: [letter!.id] }, headers),
    );
    expect(twice.status).toBe(200);
    await adminEvents.idle();
    expect(answers).toEqual([503, 200, 200]);
    expect(await handled(eventId)).toHaveLength(1);
    const processed = await db()
      .select()
      .from(processedEvents)
      .where(and(eq(processedEvents.consumer, "probe"), eq(processedEvents.eventId, eventId)));
    expect(processed).toHaveLength(1);

    // The consumer counted one failure, one processed, one duplicate.
    const text = await consumerMetrics();
    const series = (outcome: string) =>
      new RegExp(
        `^minispod_events_consumed_total\\{type="user.password_changed",consumer="probe",outcome="${outcome}",function="probe"\\} 1$`,
        "m",
      );
    for (const outcome of ["failed", "processed", "duplicate"]) {
      expect(text).toMatch(series(outcome));
    }
    // Both replays were published by the admin function, under the one event id.
    expect(await t.deps.metrics.registry.metrics()).toMatch(
      /^minispod_events_published_total\{type="user.password_changed",function="admin"\} 2$/m,
    );
  });
});
