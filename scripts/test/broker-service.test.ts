import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { localBrokerDeliveries } from "@minispod/db";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadManifests } from "../src/broker/manifests";
import type { Clock } from "../src/broker/schedule";
import { type BrokerService, createBrokerService } from "../src/broker/service";

const knativeBase = fileURLToPath(new URL("../../knative/base/", import.meta.url));

interface Received {
  /** The Knative Service the request was meant for (from the URL template). */
  service: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/**
 * Every subscriber at once, on a real port: the broker's URL template sends
 * `<service><uri>` to `/svc/<service><uri>` here. Answers 503 to an event id
 * as many times as `failures` says, then 200.
 */
async function startSubscribers() {
  const received: Received[] = [];
  const failures = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const [, , service = "", ...rest] = (req.url ?? "").split("/");
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, String(v)]),
      );
      received.push({
        service,
        path: `/${rest.join("/")}`,
        headers,
        body: Buffer.concat(chunks).toString("utf8"),
        at: Date.now(),
      });
      const id = headers["ce-id"] ?? "";
      const left = failures.get(id) ?? 0;
      if (left !== 0) {
        failures.set(id, left - 1);
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    failures,
    of: (id: string) => received.filter((r) => r.headers["ce-id"] === id),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Subscribers = Awaited<ReturnType<typeof startSubscribers>>;

interface Running {
  service: BrokerService;
  url: string;
  stop(): Promise<void>;
}

let h: Harness;
let subscribers: Subscribers;

/** A broker service on a real port, following knative/base, delivering to `subscribers`. */
async function startBroker(
  env: Record<string, string> = {},
  options: { clock?: Clock } = {},
): Promise<Running> {
  const service = await createBrokerService(
    {
      DATABASE_URL: h.databaseUrl,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
      BROKER_KNATIVE_DIR: knativeBase,
      BROKER_SUBSCRIBER_URL_TEMPLATE: `${subscribers.url}/svc/{service}`,
      BROKER_PING_SCHEDULES: "false",
      // The real Triggers back off from 2 s over 10 retries; most tests don't wait for that.
      BROKER_MAX_BACKOFF_MS: "20",
      ...env,
    },
    options,
  );
  await service.start();
  const server = serve({ fetch: service.app.fetch, port: 0, hostname: "127.0.0.1" }) as Server;
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    service,
    url,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await service.close();
    },
  };
}

function binaryEvent(type: string, id = randomUUID()) {
  return {
    id,
    init: {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": id,
        "ce-type": type,
        "ce-source": "/test",
        "ce-subject": "subject-1",
        "ce-time": new Date().toISOString(),
      },
      body: JSON.stringify({ userId: "u1", email: "a@example.com" }),
    } satisfies RequestInit,
  };
}

const queued = (id: string) =>
  h.database.db.select().from(localBrokerDeliveries).where(eq(localBrokerDeliveries.eventId, id));

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  h = await createHarness();
  subscribers = await startSubscribers();
});
afterAll(async () => {
  await subscribers?.close();
  await h?.close();
});

describe("broker service: ingress", () => {
  let broker: Running;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(() => broker.stop());

  it("accepts a binary-mode CloudEvent with 202 and delivers it in binary mode", async () => {
    const { id, init } = binaryEvent("dev.minispod.user.registered");
    const res = await fetch(broker.url, init);
    expect(res.status).toBe(202);
    await until(() => subscribers.of(id).length > 0);
    const [delivery] = subscribers.of(id);
    expect(delivery).toMatchObject({ service: "notifier", path: "/events" });
    expect(delivery?.headers).toMatchObject({
      "ce-type": "dev.minispod.user.registered",
      "ce-source": "/test",
      "ce-subject": "subject-1",
    });
    expect(JSON.parse(delivery?.body ?? "")).toEqual({ userId: "u1", email: "a@example.com" });
  });

  it("accepts a structured-mode CloudEvent on Knative's /<namespace>/<broker> path", async () => {
    const id = randomUUID();
    const res = await fetch(`${broker.url}/minispod/minispod`, {
      method: "POST",
      headers: { "content-type": "application/cloudevents+json; charset=utf-8" },
      body: JSON.stringify({
        specversion: "1.0",
        id,
        type: "dev.minispod.user.registered",
        source: "/test",
        datacontenttype: "application/json",
        data: { userId: "u2" },
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      }),
    });
    expect(res.status).toBe(202);
    await until(() => subscribers.of(id).length > 0);
    const [delivery] = subscribers.of(id);
    expect(delivery?.headers["ce-type"]).toBe("dev.minispod.user.registered");
    expect(delivery?.headers["ce-traceparent"]).toBe(
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    );
    expect(JSON.parse(delivery?.body ?? "")).toEqual({ userId: "u2" });
  });

  it("routes by knative/base's Trigger filters: each matching subscriber once, at its uri", async () => {
    const activated = binaryEvent("dev.minispod.subscription.activated");
    const invoice = binaryEvent("dev.minispod.invoice.paid");
    expect((await fetch(broker.url, activated.init)).status).toBe(202);
    expect((await fetch(broker.url, invoice.init)).status).toBe(202);
    // notifier-customer-events, provisioner-subscriptions, webhook-dispatcher-customer-events.
    await until(() => subscribers.of(activated.id).length === 3);
    expect(
      subscribers
        .of(activated.id)
        .map((r) => `${r.service}${r.path}`)
        .sort(),
    ).toEqual(["notifier/events", "provisioner/events", "webhook-dispatcher/events"]);
    // invoice.* is not among the notifier's prefixes, only the webhook dispatcher's.
    await until(() => subscribers.of(invoice.id).length === 1);
    await broker.service.broker.idle();
    expect(subscribers.of(invoice.id).map((r) => r.service)).toEqual(["webhook-dispatcher"]);
  });

  it("accepts an event no Trigger wants and delivers it nowhere", async () => {
    const { id, init } = binaryEvent("dev.example.nobody.cares");
    expect((await fetch(broker.url, init)).status).toBe(202);
    await broker.service.broker.idle();
    expect(subscribers.of(id)).toEqual([]);
    expect(await queued(id)).toEqual([]);
  });

  it("refuses what is not a CloudEvent with 400 problem+json and queues nothing", async () => {
    const before = (await h.database.db.select().from(localBrokerDeliveries)).length;
    const res = await fetch(broker.url, {
      method: "POST",
      headers: { "content-type": "application/json", "ce-specversion": "1.0" },
      body: "{}",
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect((await h.database.db.select().from(localBrokerDeliveries)).length).toBe(before);
  });

  it("serves liveness, readiness and metrics like the functions", async () => {
    expect((await fetch(`${broker.url}/health/liveness`)).status).toBe(200);
    expect((await fetch(`${broker.url}/health/readiness`)).status).toBe(200);
    const metrics = await (await fetch(`${broker.url}/metrics`)).text();
    expect(metrics).toMatch(
      /minispod_broker_deliveries_total\{trigger="notifier-customer-events",outcome="delivered",function="broker"\} [1-9]/,
    );
    expect(metrics).toContain("minispod_broker_queue_depth");
  });
});

describe("broker service: delivery policy", () => {
  it("retries a failing subscriber with the Trigger's exponential backoff (2 s, 4 s), then delivers", async () => {
    const broker = await startBroker({ BROKER_MAX_BACKOFF_MS: "0" });
    try {
      const { id, init } = binaryEvent("dev.minispod.user.registered");
      subscribers.failures.set(id, 2);
      expect((await fetch(broker.url, init)).status).toBe(202);
      await until(() => subscribers.of(id).length === 3, 15_000);
      const [first, second, third] = subscribers.of(id).map((r) => r.at);
      const gaps = [second! - first!, third! - second!];
      // notifier-customer-events: backoffDelay PT2S, exponential.
      expect(gaps[0]).toBeGreaterThanOrEqual(1900);
      expect(gaps[1]).toBeGreaterThanOrEqual(3900);
      await until(async () => (await queued(id)).length === 0);
      expect(subscribers.of(id).filter((r) => r.service === "outbox-relay")).toEqual([]);
    } finally {
      await broker.stop();
    }
  }, 20_000);

  it("dead-letters to the Trigger's sink (outbox-relay /events/dead-letter) after its retries", async () => {
    const trigger = loadManifests(knativeBase).triggers.find(
      (t) => t.name === "notifier-customer-events",
    );
    expect(trigger?.delivery.retry).toBe(10);
    const broker = await startBroker();
    const { id, init } = binaryEvent("dev.minispod.user.registered");
    try {
      subscribers.failures.set(id, -1);
      expect((await fetch(broker.url, init)).status).toBe(202);
      await until(() => subscribers.of(id).some((r) => r.service === "outbox-relay"));
      await broker.service.broker.idle();
      const attempts = subscribers.of(id).filter((r) => r.service === "notifier");
      expect(attempts).toHaveLength(1 + (trigger?.delivery.retry ?? 0));
      const dead = subscribers.of(id).filter((r) => r.service === "outbox-relay");
      expect(dead).toHaveLength(1);
      expect(dead[0]?.path).toBe("/events/dead-letter");
      expect(dead[0]?.headers["ce-knativeerrordest"]).toBe("notifier/events");
      expect(Buffer.from(dead[0]?.headers["ce-knativeerrordata"] ?? "", "base64").toString()).toBe(
        "HTTP 503",
      );
      expect(await queued(id)).toEqual([]);
    } finally {
      subscribers.failures.delete(id);
      await broker.stop();
    }
  });

  it("keeps an accepted event across a restart: the next service delivers it", async () => {
    const first = await startBroker({ BROKER_MAX_BACKOFF_MS: "0" });
    const { id, init } = binaryEvent("dev.minispod.user.registered");
    subscribers.failures.set(id, 1);
    try {
      expect((await fetch(first.url, init)).status).toBe(202);
      await until(() => subscribers.of(id).length === 1);
    } finally {
      // Stopped while the retry waits out its 2 s backoff.
      await first.stop();
    }
    expect(await queued(id)).toHaveLength(1);
    const second = await startBroker({ BROKER_MAX_BACKOFF_MS: "0" });
    try {
      await until(() => subscribers.of(id).length === 2);
      await until(async () => (await queued(id)).length === 0);
      expect(subscribers.of(id).map((r) => r.service)).toEqual(["notifier", "notifier"]);
    } finally {
      await second.stop();
    }
  });
});

describe("broker service: PingSources", () => {
  it("fires knative/base's PingSources when their schedule comes, by the injected clock", async () => {
    // Two seconds before 10:13 by this clock (start-up takes some of them): the every-minute
    // PingSources fire then, the */5 and hourly ones don't.
    const offset = Date.parse("2026-01-05T10:12:58.000Z") - Date.now();
    const clock: Clock = { now: () => Date.now() + offset };
    const since = Date.now();
    const broker = await startBroker({ BROKER_PING_SCHEDULES: "true" }, { clock });
    try {
      const pings = () =>
        subscribers.received.filter(
          (r) => r.at >= since && r.headers["ce-type"] === "dev.knative.sources.ping",
        );
      await until(() => pings().length >= 4, 8000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(
        pings()
          .map((r) => `${r.service}${r.path}`)
          .sort(),
      ).toEqual([
        "outbox-relay/cron/relay",
        "provisioner/cron/domains",
        "provisioner/cron/reconcile",
        "webhook-dispatcher/cron/retry",
      ]);
      const reconcile = pings().find((r) => r.path === "/cron/reconcile");
      expect(JSON.parse(reconcile?.body ?? "")).toEqual({ job: "reconcile" });
      expect(reconcile?.headers["ce-source"]).toBe(
        "/apis/v1/namespaces/minispod/pingsources/provisioner-reconcile",
      );
      expect(Date.parse(reconcile?.headers["ce-time"] ?? "")).toBeGreaterThanOrEqual(
        Date.parse("2026-01-05T10:13:00.000Z"),
      );
    } finally {
      await broker.stop();
    }
  });
});
