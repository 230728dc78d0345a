import { webhookDeliveries, webhookDeliveryAttempts } from "@minispod/db";
import { createHarness, type Harness } from "@minispod/shared/testing";
import {
  isForbiddenAddress,
  type Resolver,
  resolveSafeAddress,
  sendWebhookRequest,
} from "@minispod/webhooks";
import { startTestReceiver, type TestReceiver } from "@minispod/webhooks/test-receiver";
import { eq } from "drizzle-orm";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { webhookDispatcherFunction } from "../src/function";
import { makeEndpoint, postEvent, subscriptionEvent } from "./helpers";

const names: Record<string, string[]> = {
  "internal.example.test": ["10.0.0.5"],
  "mixed.example.test": ["93.184.215.14", "192.168.1.10"],
  "metadata.example.test": ["169.254.169.254"],
  "v6-local.example.test": ["fd12:3456::1"],
  "mapped.example.test": ["::ffff:127.0.0.1"],
  "public.example.test": ["93.184.215.14"],
};
/** A resolver that answers from the table above, as a hostile DNS zone could. */
const resolver: Resolver = async (hostname) => {
  const addresses = names[hostname];
  if (!addresses) throw new Error(`ENOTFOUND ${hostname}`);
  return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
};

let h: Harness;
let guarded: Hono;

beforeAll(async () => {
  h = await createHarness();
  // Guard on: WEBHOOK_ALLOW_PRIVATE is left at its default (false).
  guarded = createApp({ ...h.context(webhookDispatcherFunction), resolver }) as unknown as Hono;
});
afterAll(() => h.close());

describe("SSRF guard on delivery", () => {
  const refused = [
    "https://127.0.0.1/hook",
    "https://127.1.2.3:8443/hook",
    "https://[::1]/hook",
    "https://10.0.0.1/hook",
    "https://10.255.1.2/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::ffff:169.254.169.254]/",
    "https://0.0.0.0/",
    "https://internal.example.test/hook",
    "https://mixed.example.test/hook",
    "https://metadata.example.test/",
    "https://v6-local.example.test/",
    "https://mapped.example.test/",
  ];

  it("refuses every private, loopback, link-local or metadata destination and records why", async () => {
    const alice = await h.user();
    // Written straight to the table: the API already refuses IP literals like these at creation.
    const endpoints = [];
    for (const url of refused) endpoints.push(await makeEndpoint(h, alice.id, { url }));
    expect((await postEvent(guarded, subscriptionEvent(alice.id))).status).toBe(200);

    for (const endpoint of endpoints) {
      const [delivery] = await h.database.db
        .select()
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.endpointId, endpoint.id));
      expect(delivery, endpoint.url).toMatchObject({
        status: "PENDING",
        attemptCount: 1,
        lastStatusCode: null,
      });
      expect(delivery!.lastError, endpoint.url).toMatch(/^refused: /);
      const [attempt] = await h.database.db
        .select()
        .from(webhookDeliveryAttempts)
        .where(eq(webhookDeliveryAttempts.deliveryId, delivery!.id));
      expect(attempt).toMatchObject({ statusCode: null, attemptNumber: 1 });
      expect(attempt!.error).toBe(delivery!.lastError);
    }
    const metrics = await (await guarded.request("/metrics")).text();
    expect(metrics).toMatch(
      new RegExp(
        `webhook_delivery_attempts_total\\{[^}]*outcome="refused"[^}]*\\} ${refused.length}\\b`,
      ),
    );
  });

  it("refuses plain http when private destinations are not allowed", async () => {
    const result = await sendWebhookRequest({
      url: "http://public.example.test/hook",
      headers: {},
      body: "{}",
      timeoutMs: 1000,
      allowPrivate: false,
      resolver,
    });
    expect(result).toMatchObject({
      ok: false,
      statusCode: null,
      error: "refused: http: URLs are not allowed",
    });
  });

  it("treats a name that does not resolve as a failed attempt", async () => {
    const result = await sendWebhookRequest({
      url: "https://nowhere.example.test/",
      headers: {},
      body: "{}",
      timeoutMs: 1000,
      allowPrivate: false,
      resolver,
    });
    expect(result.ok).toBe(false);
    expect(result.error).toContain("could not resolve");
  });
});

describe("address checks", () => {
  it.each([
    "127.0.0.1",
    "127.255.255.254",
    "::1",
    "10.0.0.0",
    "10.20.30.40",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.0.1",
    "100.64.0.1",
    "169.254.169.254",
    "fe80::1",
    "fc00::1",
    "fdff::1",
    "0.0.0.0",
    "::",
    "224.0.0.1",
    "ff02::1",
    "::ffff:10.0.0.1",
    "::ffff:7f00:1",
  ])("forbids %s", (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each([
    "93.184.215.14",
    "8.8.8.8",
    "172.32.0.1",
    "100.128.0.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
  ])("allows %s", (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });

  it("returns the checked address, which the connection is then pinned to", async () => {
    expect(
      await resolveSafeAddress("public.example.test", { allowPrivate: false, resolver }),
    ).toEqual({
      address: "93.184.215.14",
      family: 4,
    });
    await expect(
      resolveSafeAddress("mixed.example.test", { allowPrivate: false, resolver }),
    ).rejects.toThrow(/192\.168\.1\.10/);
    // With WEBHOOK_ALLOW_PRIVATE the same name is allowed.
    expect(
      (await resolveSafeAddress("internal.example.test", { allowPrivate: true, resolver })).address,
    ).toBe("10.0.0.5");
  });
});

describe("sending", () => {
  let receiver: TestReceiver;
  beforeAll(async () => {
    receiver = await startTestReceiver();
  });
  afterAll(() => receiver.close());

  const send = (path: string, timeoutMs = 2000) =>
    sendWebhookRequest({
      url: receiver.url(path).replace("127.0.0.1", "hooks.example.test"),
      headers: { "content-type": "application/json" },
      body: '{"a":1}',
      timeoutMs,
      allowPrivate: true,
      // The name exists only in this resolver: reaching the receiver proves the connection used it.
      resolver: async () => [{ address: "127.0.0.1", family: 4 }],
    });

  it("connects to the resolved address while keeping the hostname in the Host header", async () => {
    receiver.reply = () => ({ status: 204 });
    const result = await send("/pinned");
    expect(result).toMatchObject({ ok: true, statusCode: 204, error: null });
    const [request] = receiver.to("/pinned");
    expect(request!.headers.host).toMatch(/^hooks\.example\.test:\d+$/);
    expect(request!.body).toBe('{"a":1}');
  });

  it("does not follow redirects", async () => {
    receiver.reply = (r) =>
      r.path === "/redirect" ? { status: 302, headers: { location: "/target" } } : { status: 200 };
    const result = await send("/redirect");
    expect(result).toMatchObject({
      ok: false,
      statusCode: 302,
      error: "redirect (302) not followed",
    });
    expect(receiver.to("/target")).toHaveLength(0);
  });

  it("keeps only the first KiB of the answer", async () => {
    receiver.reply = () => ({ status: 500, body: "y".repeat(10_000) });
    const result = await send("/big");
    expect(result.statusCode).toBe(500);
    expect(result.responseBody).toHaveLength(1024);
  });

  it("gives up after the timeout", async () => {
    receiver.reply = () => ({ status: 200, delayMs: 1000 });
    const result = await send("/slow", 200);
    expect(result).toMatchObject({ ok: false, statusCode: null, error: "timed out after 200 ms" });
    expect(result.durationMs).toBeLessThan(900);
  });
});
