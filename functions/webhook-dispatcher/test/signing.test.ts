import { generateWebhookSecret, signWebhook } from "@minispod/webhooks";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";

describe("signing", () => {
  it("makes whsec_ secrets of 32 random bytes", () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secret.slice(6), "base64")).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(secret);
  });

  it("signs exactly as the standardwebhooks library does", () => {
    const secret = generateWebhookSecret();
    const timestamp = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({
      type: "subscription.activated",
      timestamp: "2030-01-01T00:00:00.000Z",
      data: { ü: 1 },
    });
    const ours = signWebhook({ id: "msg_1", timestamp, body, secrets: [secret] });
    expect(ours).toBe(new Webhook(secret).sign("msg_1", new Date(timestamp * 1000), body));
    const headers = {
      "webhook-id": "msg_1",
      "webhook-timestamp": String(timestamp),
      "webhook-signature": ours,
    };
    expect(new Webhook(secret).verify(body, headers)).toBeTruthy();
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
  });

  it("puts one space-separated v1 entry per secret, each verifiable on its own", () => {
    const [current, previous] = [generateWebhookSecret(), generateWebhookSecret()];
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = signWebhook({
      id: "msg_2",
      timestamp,
      body: "{}",
      secrets: [current, previous],
    });
    expect(signature.split(" ")).toHaveLength(2);
    expect(signature.split(" ").every((entry) => entry.startsWith("v1,"))).toBe(true);
    const headers = {
      "webhook-id": "msg_2",
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signature,
    };
    expect(new Webhook(current).verify("{}", headers)).toEqual({});
    expect(new Webhook(previous).verify("{}", headers)).toEqual({});
  });
});
