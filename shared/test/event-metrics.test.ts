import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PermanentEventError } from "../src/events/consumer";
import { enqueueEvent } from "../src/events/outbox";
import { type CloudEventMessage, toBinaryHttp } from "../src/events/publisher";
import { createHarness, eventConsumerFunction, type Harness } from "../src/testing/index";

/**
 * The event counters as Prometheus scrapes them: a consumer's deliveries by
 * outcome, and what a function publishes, read from its /metrics text.
 */
let h: Harness;
let calls = 0;
let failNext = false;
const probe = eventConsumerFunction("probe", {
  "user.password_changed": async ({ data }) => {
    if (data.email === "refused@example.com") throw new PermanentEventError("not for us");
    if (failNext) {
      failNext = false;
      throw new Error("smtp down");
    }
    calls++;
  },
});

beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const changed = (userId: string, email = "a@example.com"): CloudEventMessage => ({
  id: randomUUID(),
  type: "dev.minispod.user.password_changed",
  source: "auth",
  subject: userId,
  time: new Date().toISOString(),
  data: { userId, email },
});

/** The samples of `name` in Prometheus text, keyed by their label set. */
function samples(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const match of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, "gm"))) {
    out[match[1]!] = Number(match[2]);
  }
  return out;
}

describe("minispod_events_consumed_total", () => {
  it("counts processed, duplicate, failed, rejected and ignored deliveries by type and consumer", async () => {
    const app = await h.app(probe);
    const deliver = async (event: CloudEventMessage) => {
      const { headers, body } = toBinaryHttp(event);
      return (await app.request("/events", { method: "POST", headers, body })).status;
    };
    const metricsText = async () => {
      const res = await app.request("/metrics");
      expect(res.status).toBe(200);
      return res.text();
    };
    // Declared before the first event, so dashboards and alerts find the family.
    expect(await metricsText()).toContain("# TYPE minispod_events_consumed_total counter");

    const user = await h.user();
    const event = changed(user.id);
    failNext = true;
    expect(await deliver(event)).toBe(503);
    expect(await deliver(event)).toBe(200);
    expect(await deliver(event)).toBe(200);
    expect(calls).toBe(1);
    expect(await deliver(changed(user.id, "refused@example.com"))).toBe(422);
    expect(await deliver({ ...changed(user.id), type: "dev.minispod.user.email_verified" })).toBe(
      200,
    );

    const consumed = samples(await metricsText(), "minispod_events_consumed_total");
    const key = (type: string, outcome: string) =>
      `type="${type}",consumer="probe",outcome="${outcome}",function="probe"`;
    expect(consumed).toEqual({
      [key("user.password_changed", "failed")]: 1,
      [key("user.password_changed", "processed")]: 1,
      [key("user.password_changed", "duplicate")]: 1,
      [key("user.password_changed", "rejected")]: 1,
      [key("user.email_verified", "ignored")]: 1,
    });
  });
});

describe("minispod_events_published_total", () => {
  it("counts what a function's event sender hands to the broker, by type, once per publish", async () => {
    const ctx = h.context(probe);
    const user = await h.user();
    const ids = await h.database.db.transaction(async (tx) => [
      await enqueueEvent(tx, {
        type: "user.password_changed",
        source: "probe",
        subject: user.id,
        data: { userId: user.id, email: "a@example.com" },
      }),
      await enqueueEvent(tx, {
        type: "user.email_verified",
        source: "probe",
        subject: user.id,
        data: { userId: user.id, email: "a@example.com" },
      }),
    ]);
    const before = samples(await ctx.metrics.registry.metrics(), "minispod_events_published_total");
    expect(before).toEqual({});
    expect(await ctx.events.flush(ids)).toEqual({ published: 2, failed: 0 });
    expect(await ctx.events.flush(ids)).toEqual({ published: 0, failed: 0 });
    expect(
      samples(await ctx.metrics.registry.metrics(), "minispod_events_published_total"),
    ).toEqual({
      'type="user.password_changed",function="probe"': 1,
      'type="user.email_verified",function="probe"': 1,
    });
  });
});
