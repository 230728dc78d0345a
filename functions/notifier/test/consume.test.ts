import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { emailMessages, processedEvents, users } from "@minispod/db";
import type { AppEnv } from "@minispod/shared";
import { createHarness, type Harness, type TestUser } from "@minispod/shared/testing";
import { eq } from "drizzle-orm";
import type { Hono } from "hono";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { notifierFunction } from "../src/function";
import { cloudEvent, deliver, sampleData } from "./support/events";
import { startSmtp, type TestSmtp } from "./support/smtp-server";

let h: Harness;
let smtp: TestSmtp;
let app: Hono<AppEnv>;
let user: TestUser;

beforeAll(async () => {
  h = await createHarness();
  smtp = await startSmtp();
  app = await h.app(notifierFunction, {
    SMTP_HOST: "127.0.0.1",
    SMTP_PORT: String(smtp.port),
  });
  user = await h.user();
});
afterAll(async () => {
  await smtp?.close();
  await h?.close();
});
beforeEach(() => {
  smtp.rejectWith = undefined;
  smtp.messages.length = 0;
});

const passwordChanged = (userId: string) =>
  cloudEvent("user.password_changed", sampleData["user.password_changed"]!(userId));

const recorded = (eventId: string) =>
  h.database.db.select().from(emailMessages).where(eq(emailMessages.eventId, eventId));

const marked = (eventId: string) =>
  h.database.db.select().from(processedEvents).where(eq(processedEvents.eventId, eventId));

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("redelivery", () => {
  it("sends nothing the second time the same event arrives", async () => {
    const event = passwordChanged(user.id);
    const first = await deliver(app, event);
    const second = await deliver(app, event);

    expect(await first.json()).toEqual({ outcome: "processed" });
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual({ outcome: "duplicate" });
    expect(smtp.messages).toHaveLength(1);
    expect(await recorded(event.id)).toHaveLength(1);
  });

  it("sends nothing for the same event id from another source (one email per event and template)", async () => {
    const event = passwordChanged(user.id);
    await deliver(app, event);
    const replay = await deliver(app, { ...event, source: "outbox-relay/replay" });

    expect(replay.status).toBe(200);
    expect(smtp.messages).toHaveLength(1);
    expect(await recorded(event.id)).toHaveLength(1);
  });
});

describe("SMTP failure", () => {
  it("answers 5xx and records nothing when the server rejects, then sends on redelivery", async () => {
    const event = passwordChanged(user.id);
    smtp.rejectWith = 550;

    const failed = await deliver(app, event);
    expect(failed.status).toBe(503);
    expect(failed.headers.get("content-type")).toContain("application/problem+json");
    expect(smtp.messages).toHaveLength(0);
    expect(await recorded(event.id)).toEqual([]);
    expect(await marked(event.id)).toEqual([]);

    smtp.rejectWith = undefined;
    const retried = await deliver(app, event);
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual({ outcome: "processed" });
    expect(smtp.messages).toHaveLength(1);
    expect(await recorded(event.id)).toEqual([expect.objectContaining({ status: "sent" })]);
  });

  it("answers 5xx on a temporary rejection (4xx reply) too", async () => {
    smtp.rejectWith = 451;
    const res = await deliver(app, passwordChanged(user.id));
    expect(res.status).toBe(503);
    expect(smtp.messages).toHaveLength(0);
  });

  it("answers 5xx when the SMTP server cannot be reached", async () => {
    const unreachable = await h.app(notifierFunction, {
      SMTP_HOST: "127.0.0.1",
      SMTP_PORT: String(await closedPort()),
    });
    const event = passwordChanged(user.id);
    const res = await deliver(unreachable, event);
    expect(res.status).toBe(503);
    expect(await recorded(event.id)).toEqual([]);
  });
});

describe("recipients", () => {
  it("skips a disabled user silently and records the skip", async () => {
    const disabled = await h.user({ disabled: true });
    const event = passwordChanged(disabled.id);

    const res = await deliver(app, event);
    expect(res.status).toBe(200);
    expect(smtp.messages).toHaveLength(0);
    expect(await recorded(event.id)).toEqual([
      expect.objectContaining({
        userId: disabled.id,
        to: disabled.email,
        status: "skipped",
        error: "user disabled",
        sentAt: null,
      }),
    ]);
  });

  it("skips a user that no longer exists and records the skip", async () => {
    const event = passwordChanged(randomUUID());
    const res = await deliver(app, event);
    expect(res.status).toBe(200);
    expect(smtp.messages).toHaveLength(0);
    expect(await recorded(event.id)).toEqual([
      expect.objectContaining({ userId: null, status: "skipped", error: "user not found" }),
    ]);
  });

  it("sends to the address stored now, not the one in the event", async () => {
    const event = cloudEvent("user.password_reset_requested", {
      ...sampleData["user.password_reset_requested"]!(user.id),
      email: "stale@example.com",
    });
    await deliver(app, event);
    expect(smtp.messages[0]?.to).toMatchObject({ value: [{ address: user.email }] });
  });
});

describe("unconfirmed email addresses", () => {
  it("may subscribe, and the activation email reminds them to confirm (a confirmed one is not reminded)", async () => {
    const unconfirmed = await h.user();
    await h.database.db
      .update(users)
      .set({ emailVerifiedAt: null })
      .where(eq(users.id, unconfirmed.id));
    for (const [who, reminded] of [
      [unconfirmed, true],
      [user, false],
    ] as const) {
      smtp.messages.length = 0;
      const event = cloudEvent(
        "subscription.activated",
        sampleData["subscription.activated"]!(who.id),
      );
      expect((await deliver(app, event)).status).toBe(200);
      const text = String(smtp.messages[0]?.text);
      expect(text).toContain("is active");
      expect(text.includes("Your email address is not confirmed yet")).toBe(reminded);
    }
  });
});

describe("events without an email", () => {
  it.each(["user.email_verified", "instance.provisioning", "invoice.paid"] as const)(
    "%s is acknowledged and sends nothing",
    async (type) => {
      const event = cloudEvent(type, { userId: user.id } as never);
      const res = await deliver(app, event);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ outcome: "ignored" });
      expect(smtp.messages).toHaveLength(0);
      expect(await recorded(event.id)).toEqual([]);
    },
  );

  it("acknowledges a type outside the catalogue and sends nothing", async () => {
    const event = { ...passwordChanged(user.id), type: "com.example.something.happened" };
    const res = await deliver(app, event);
    expect(res.status).toBe(200);
    expect(smtp.messages).toHaveLength(0);
  });
});

describe("malformed events", () => {
  it("answers 400 to a request that is not a CloudEvent", async () => {
    const res = await app.request("/events", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ hello: "world" }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(smtp.messages).toHaveLength(0);
  });

  it("answers 422 when the data does not match the event type's schema", async () => {
    const event = cloudEvent("user.password_changed", { email: "x@example.com" } as never);
    const res = await deliver(app, event);
    expect(res.status).toBe(422);
    expect(smtp.messages).toHaveLength(0);
  });

  it("answers 422 when userId is not a user id at all", async () => {
    const event = passwordChanged("not-a-uuid");
    const res = await deliver(app, event);
    expect(res.status).toBe(422);
    expect(await marked(event.id)).toEqual([]);
  });
});
