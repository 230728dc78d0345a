import { outboxEvents, processedEvents } from "@minispod/db";
import { eq, inArray } from "drizzle-orm";
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
  it("sends up to `concurrency` at once, each subject's events in the order written, and marks the batch", async () => {
    const subjects = await Promise.all(Array.from({ length: 6 }, () => h.user()));
    const ids: string[] = [];
    // Each subject's four events written one after another.
    for (const user of subjects) {
      for (let round = 0; round < 4; round++) {
        ids.push(
          await h.database.db.transaction((tx) =>
            enqueueEvent(tx, {
              type: "user.registered",
              source: "auth",
              subject: user.id,
              data: { ...registered(user.id), name: `round ${round}` },
            }),
          ),
        );
      }
    }
    let inFlight = 0;
    let most = 0;
    const order = new Map<string, string[]>();
    const slow = {
      async publish(e: CloudEventMessage) {
        most = Math.max(most, ++inFlight);
        // Earlier events take longer: sent side by side, they would arrive out of order.
        const round = Number((e.data as { name: string }).name.split(" ")[1]);
        await new Promise((resolve) => setTimeout(resolve, (4 - round) * 3));
        inFlight--;
        // The second event of the third subject fails; the rest go through.
        if (e.id === ids[9]) throw new Error("broker said 503");
        const seen = order.get(e.subject!) ?? [];
        order.set(e.subject!, [...seen, (e.data as { name: string }).name]);
      },
    };
    const result = await relayOutbox({
      db: h.database.db,
      publisher: slow,
      logger,
      ids,
      concurrency: 4,
    });
    expect(result).toEqual({ published: 23, failed: 1 });
    expect(most).toBe(4);
    for (const [n, user] of subjects.entries()) {
      const rounds =
        n === 2 ? ["round 0", "round 2", "round 3"] : ["round 0", "round 1", "round 2", "round 3"];
      expect(order.get(user.id)).toEqual(rounds);
    }
    const rows = await h.database.db
      .select()
      .from(outboxEvents)
      .where(inArray(outboxEvents.id, ids));
    const failedRow = rows.find((r) => r.id === ids[9])!;
    expect(failedRow.publishedAt).toBeNull();
    expect(failedRow.lastError).toBe("broker said 503");
    expect(rows.filter((r) => r.publishedAt !== null)).toHaveLength(23);
    expect(rows.filter((r) => r.id !== ids[9]).every((r) => r.lastError === null)).toBe(true);
  });

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
