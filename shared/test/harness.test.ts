import { outboxEvents, processedEvents } from "@minispod/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dispatchEvent, PermanentEventError } from "../src/events/consumer";
import { enqueueEvent, relayOutbox } from "../src/events/outbox";
import { type CloudEventMessage, fromHttp, toBinaryHttp } from "../src/events/publisher";
import { createLogger } from "../src/logger";
import { createHarness, type Harness } from "../src/testing/index";

const logger = createLogger({ name: "t", level: "silent" });
let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const registered = (userId: string) => ({
  userId,
  email: "a@example.com",
  name: "A",
  verificationToken: "tok",
  verificationExpiresAt: new Date().toISOString(),
});

describe("outbox", () => {
  it("writes the event only when the transaction commits", async () => {
    const user = await h.user();
    await expect(
      h.database.db.transaction(async (tx) => {
        await enqueueEvent(tx, {
          type: "user.registered",
          source: "auth",
          subject: user.id,
          data: registered(user.id),
        });
        throw new Error("rollback");
      }),
    ).rejects.toThrow("rollback");
    expect(
      await h.database.db.select().from(outboxEvents).where(eq(outboxEvents.subject, user.id)),
    ).toHaveLength(0);
    const id = await h.database.db.transaction((tx) =>
      enqueueEvent(tx, {
        type: "user.registered",
        source: "auth",
        subject: user.id,
        data: registered(user.id),
      }),
    );
    const [row] = await h.database.db.select().from(outboxEvents).where(eq(outboxEvents.id, id));
    expect(row?.type).toBe("dev.minispod.user.registered");
  });

  it("refuses data that does not match the event's schema", async () => {
    await expect(
      h.database.db.transaction((tx) =>
        enqueueEvent(tx, {
          type: "user.registered",
          source: "auth",
          subject: "x",
          data: { userId: 1 } as never,
        }),
      ),
    ).rejects.toThrow();
  });

  it("relays each row once, and retries rows whose publish failed", async () => {
    const user = await h.user();
    const id = await h.database.db.transaction((tx) =>
      enqueueEvent(tx, {
        type: "user.registered",
        source: "auth",
        subject: user.id,
        data: registered(user.id),
      }),
    );
    let fail = true;
    const sent: CloudEventMessage[] = [];
    const flaky = {
      async publish(e: CloudEventMessage) {
        if (fail) throw new Error("broker down");
        sent.push(e);
      },
    };
    const first = await relayOutbox({ db: h.database.db, publisher: flaky, logger, ids: [id] });
    expect(first).toEqual({ published: 0, failed: 1 });
    fail = false;
    // Backed off: not due yet.
    expect(await relayOutbox({ db: h.database.db, publisher: flaky, logger, ids: [id] })).toEqual({
      published: 0,
      failed: 0,
    });
    const later = new Date(Date.now() + 3600_000);
    expect(
      await relayOutbox({
        db: h.database.db,
        publisher: flaky,
        logger,
        ids: [id],
        now: () => later,
      }),
    ).toEqual({
      published: 1,
      failed: 0,
    });
    expect(
      await relayOutbox({
        db: h.database.db,
        publisher: flaky,
        logger,
        ids: [id],
        now: () => later,
      }),
    ).toEqual({
      published: 0,
      failed: 0,
    });
    expect(sent.map((e) => e.id)).toEqual([id]);
  });
});

describe("CloudEvents over HTTP and the idempotent consumer", () => {
  it("round-trips an event through binary-mode HTTP", () => {
    const event = {
      id: "e1",
      type: "dev.minispod.user.registered",
      source: "auth",
      subject: "u1",
      time: new Date().toISOString(),
      data: { a: 1 },
    };
    const { headers, body } = toBinaryHttp(event);
    expect(headers["ce-type"]).toBe(event.type);
    const back = fromHttp(headers, body);
    expect(back).toMatchObject({
      id: "e1",
      type: event.type,
      source: "auth",
      subject: "u1",
      data: { a: 1 },
    });
  });

  it("handles an event once however often it is delivered, and not at all when the handler fails", async () => {
    const user = await h.user();
    const event: CloudEventMessage = {
      id: crypto.randomUUID(),
      type: "dev.minispod.user.registered",
      source: "auth",
      time: new Date().toISOString(),
      data: registered(user.id),
    };
    let calls = 0;
    const failing = {
      "user.registered": async () => {
        throw new Error("smtp down");
      },
    };
    await expect(dispatchEvent(h.database.db, "probe", failing, event)).rejects.toThrow(
      "smtp down",
    );
    const handlers = {
      "user.registered": async () => {
        calls++;
      },
    };
    expect(await dispatchEvent(h.database.db, "probe", handlers, event)).toBe("processed");
    expect(await dispatchEvent(h.database.db, "probe", handlers, event)).toBe("duplicate");
    expect(await dispatchEvent(h.database.db, "other-consumer", handlers, event)).toBe("processed");
    expect(calls).toBe(2);
    const rows = await h.database.db
      .select()
      .from(processedEvents)
      .where(eq(processedEvents.eventId, event.id));
    expect(rows).toHaveLength(2);
  });

  it("rejects for good an event whose data does not match its schema", async () => {
    const event: CloudEventMessage = {
      id: "bad",
      type: "dev.minispod.user.registered",
      source: "auth",
      time: new Date().toISOString(),
      data: { nope: true },
    };
    await expect(
      dispatchEvent(h.database.db, "probe", { "user.registered": async () => {} }, event),
    ).rejects.toBeInstanceOf(PermanentEventError);
  });
});

describe("rate limiter on real Redis", () => {
  it("allows the limit, then refuses with a retry-after", async () => {
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await h.limiter.hit("probe:1.2.3.4", 3, 60));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results[3]!.retryAfterSeconds).toBeGreaterThan(0);
    expect(results[3]!.retryAfterSeconds).toBeLessThanOrEqual(60);
  });
});
