import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  emailMessages,
  localBrokerDeliveries,
  outboxEvents,
  webhookDeliveries,
  webhookEndpoints,
} from "@minispod/db";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { startTestReceiver } from "@minispod/webhooks/test-receiver";
import { eq, isNull, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, runnerEntry, type Spawned, spawnEntry } from "./support/process";

/**
 * `npm start` killed with SIGKILL in the middle of traffic, then started
 * again on the same PostgreSQL and Redis: every event committed before the
 * kill must still reach every consumer, once as far as effects go — one email
 * per (event, template), one webhook delivery per (endpoint, event), each
 * received under its id.
 */
let h: Harness;
let receiver: Awaited<ReturnType<typeof startTestReceiver>>;
let env: Record<string, string>;
let base: string;
let runner: Spawned | undefined;
let mailbox: string;

/** Types of this traffic the notifier has a template for. */
const EMAILED = new Set(["dev.minispod.user.registered", "dev.minispod.subscription.activated"]);
/** Types the webhook dispatcher delivers (customer-facing entities). */
const WEBHOOKED = /^dev\.minispod\.(subscription|payment|invoice|instance)\./;

beforeAll(async () => {
  h = await createHarness();
  receiver = await startTestReceiver();
  // Slow endpoints keep first attempts in flight, so the kill lands mid-delivery.
  receiver.reply = () => ({ status: 200, body: "ok", delayMs: 150 });
  const dataDir = mkdtempSync(join(tmpdir(), "minispod-crash-"));
  mailbox = join(dataDir, "mailbox");
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  env = {
    DATABASE_URL: h.databaseUrl,
    REDIS_URL: h.redisUrl,
    REDIS_KEY_PREFIX: h.redisPrefix,
    DATA_DIR: dataDir,
    HOST: "127.0.0.1",
    PORT: String(port),
    LOCAL_CRON: "false",
    LOG_LEVEL: "warn",
    BCRYPT_COST: "4",
    ADMIN_PASSWORD: "admin password 1",
    WEBHOOK_ALLOW_PRIVATE: "true",
    AUTH_RATE_LIMIT_REGISTER: "1000",
    AUTH_RATE_LIMIT_LOGIN: "1000",
  };
}, 60_000);
afterAll(async () => {
  runner?.child.kill("SIGKILL");
  await runner?.exited;
  await receiver?.close();
  await h?.close();
});

async function start(): Promise<Spawned> {
  const spawned = spawnEntry(runnerEntry, env);
  await spawned.waitFor("minispod is running", 90_000);
  return spawned;
}

async function call(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/api/v1${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** One customer: register, a webhook endpoint for everything, a paid subscription. */
async function journey(i: number, onSubscribed: () => void) {
  const reg = await call("/auth/register", {
    email: `crash${i}@example.com`,
    password: "a long password",
    name: `Crash ${i}`,
  });
  if (reg.status !== 201) throw new Error(`register ${reg.status}`);
  const auth = { authorization: `Bearer ${reg.body.accessToken}` };
  const hook = await call("/webhooks", { url: receiver.url(`/c${i}`), events: ["*"] }, auth);
  if (hook.status !== 201) throw new Error(`webhook ${hook.status}`);
  const sub = await call(
    "/subscriptions",
    { serviceSlug: "uptime-kuma" },
    { ...auth, "idempotency-key": `crash-${i}` },
  );
  if (sub.status !== 201) throw new Error(`subscribe ${sub.status}`);
  onSubscribed();
}

const count = async (query: Promise<{ n: number }[]>) => (await query)[0]?.n ?? 0;

describe("local runner killed with SIGKILL mid-traffic", () => {
  it("delivers every committed event to every consumer after the restart, once per effect", async () => {
    runner = await start();
    const first = runner;

    // Traffic: 16 customers, 4 at a time; SIGKILL as the 4th subscription is answered.
    let subscribed = 0;
    const customers = Array.from({ length: 16 }, (_, i) => i);
    const outcomes: string[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = customers.shift(); i !== undefined; i = customers.shift()) {
          await journey(i, () => {
            subscribed++;
            if (subscribed === 4) first.child.kill("SIGKILL");
          }).then(
            () => outcomes.push("done"),
            () => outcomes.push("cut"),
          );
        }
      }),
    );
    expect((await first.exited).signal).toBe("SIGKILL");
    expect(outcomes).toContain("cut");

    const db = h.database.db;
    const n = sql<number>`count(*)::int`;
    const unsentAtKill = await count(
      db.select({ n }).from(outboxEvents).where(isNull(outboxEvents.publishedAt)),
    );
    const queuedAtKill = await count(db.select({ n }).from(localBrokerDeliveries));
    // The kill has to have caught work in flight, or this test proves nothing.
    expect(unsentAtKill + queuedAtKill).toBeGreaterThan(0);

    runner = await start();
    // The admin exists now: the banner says ADMIN_PASSWORD was not applied, and how to change it.
    expect(first.stdout()).toContain("(created from ADMIN_PASSWORD)");
    expect(runner.stdout()).toMatch(
      /ADMIN_PASSWORD only sets the password of a new admin.*reset-password/,
    );
    // Drained: every outbox row published, the broker's queue empty.
    for (let i = 0; i < 600; i++) {
      const unsent = await count(
        db.select({ n }).from(outboxEvents).where(isNull(outboxEvents.publishedAt)),
      );
      const queued = await count(db.select({ n }).from(localBrokerDeliveries));
      if (unsent === 0 && queued === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // A delivery fanned out just before the kill but never attempted waits for its
    // lease (over a minute) and the retry sweep: fast-forward the lease, run the sweep.
    await db
      .update(webhookDeliveries)
      .set({ nextAttemptAt: new Date() })
      .where(eq(webhookDeliveries.status, "PENDING"));
    const sweep = await fetch(`${base}/_fn/webhook-dispatcher/cron/retry`, { method: "POST" });
    expect(sweep.status).toBe(200);

    const events = await db.select().from(outboxEvents);
    expect(events.length).toBeGreaterThan(0);
    expect(events.filter((e) => e.publishedAt === null)).toEqual([]);
    expect(await count(db.select({ n }).from(localBrokerDeliveries))).toBe(0);

    // Emails: one sent row per emailed event, each in the mailbox under its Message-ID.
    const emails = await db.select().from(emailMessages);
    const emailedEvents = events.filter((e) => EMAILED.has(e.type));
    expect(emailedEvents.length).toBeGreaterThan(0);
    for (const event of emailedEvents) {
      const rows = emails.filter((m) => m.eventId === event.id);
      expect(
        rows.map((r) => r.status),
        `${event.type} ${event.id}`,
      ).toEqual(["sent"]);
    }
    const stored = readdirSync(mailbox)
      .filter((name) => name.endsWith(".json"))
      .map(
        (name) => JSON.parse(readFileSync(join(mailbox, name), "utf8")) as { messageId: string },
      );
    const storedIds = new Set(stored.map((m) => m.messageId));
    const sentIds = emails.filter((m) => m.status === "sent").map((m) => m.providerMessageId);
    expect(new Set(sentIds).size).toBe(sentIds.length);
    expect([...storedIds].sort()).toEqual([...sentIds].sort());

    // Webhooks: one delivery per (endpoint, event), succeeded, received under its id.
    const endpoints = await db.select().from(webhookEndpoints);
    const deliveries = await db.select().from(webhookDeliveries);
    const webhooked = events.filter((e) => WEBHOOKED.test(e.type));
    expect(webhooked.length).toBeGreaterThan(0);
    for (const event of webhooked) {
      const owner = (event.data as { userId: string }).userId;
      const expected = endpoints.filter((e) => e.userId === owner).map((e) => e.id);
      const got = deliveries.filter((d) => d.eventId === event.id);
      expect(got.map((d) => d.endpointId).sort(), `${event.type} ${event.id}`).toEqual(
        expected.sort(),
      );
      for (const delivery of got) expect(delivery.status).toBe("SUCCEEDED");
    }
    const receivedIds = new Set(receiver.requests.map((r) => r.headers["webhook-id"]));
    expect([...receivedIds].sort()).toEqual(deliveries.map((d) => d.messageId).sort());
  }, 240_000);
});
