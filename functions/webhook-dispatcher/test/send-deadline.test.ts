import { type Resolver, sendWebhookRequest } from "@minispod/webhooks";
import { describe, expect, it } from "vitest";

/** A hostile or broken DNS zone that answers after `ms` (a public address, so only time decides). */
const slowResolver =
  (ms: number): Resolver =>
  () =>
    new Promise((resolve) =>
      setTimeout(() => resolve([{ address: "93.184.215.14", family: 4 }]), ms),
    );

describe("the attempt deadline", () => {
  it("counts name resolution in WEBHOOK_TIMEOUT, so a slow DNS zone cannot stretch an attempt past its lease", async () => {
    const result = await sendWebhookRequest({
      url: "https://slow-dns.example.test/hook",
      headers: {},
      body: "{}",
      timeoutMs: 200,
      allowPrivate: false,
      resolver: slowResolver(3000),
    });
    expect(result).toMatchObject({ ok: false, statusCode: null, error: "timed out after 200 ms" });
    expect(result.durationMs).toBeLessThan(1000);
  });
});
