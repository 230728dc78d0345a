import { isForbiddenAddress, sendWebhookRequest } from "@minispod/webhooks";
import { describe, expect, it } from "vitest";

/**
 * IPv6 spellings that carry an internal IPv4 address or are not global
 * unicast at all. URL parsing canonicalises `[::127.0.0.1]` to `[::7f00:1]`,
 * so the guard has to understand the hex forms too, not just the dotted ones.
 */
describe("address checks: IPv6 forms that embed or hide internal addresses", () => {
  it.each([
    "::7f00:1", // IPv4-compatible 127.0.0.1, as new URL() writes [::127.0.0.1]
    "::a00:1", // IPv4-compatible 10.0.0.1
    "::8.8.8.8", // IPv4-compatible (deprecated): never a real destination
    "::ffff:0:7f00:1", // IPv4-translated (RFC 2765) 127.0.0.1
    "::ffff:0:a9fe:a9fe", // IPv4-translated 169.254.169.254
    "64:ff9b::7f00:1", // NAT64 well-known prefix, 127.0.0.1
    "64:ff9b::a9fe:a9fe", // NAT64 well-known prefix, 169.254.169.254
    "64:ff9b::10.0.0.1", // the same, dotted
    "2002:7f00:1::1", // 6to4 of 127.0.0.1
    "2002:a00:1::", // 6to4 of 10.0.0.1
    "2001::1", // Teredo
    "2001:db8::1", // documentation
    "fec0::1", // site-local (deprecated)
    "100::1", // discard-only
    "::1:0:0:0",
    "fe80::1%eth0", // link-local with a zone id
    "0:0:0:0:0:ffff:a9fe:a9fe",
  ])("forbids %s", (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each([
    "2606:4700:4700::1111",
    "2a00:1450:4001:830::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808", // NAT64 of 8.8.8.8: how an IPv6-only cluster reaches public IPv4
    "2002:808:808::1", // 6to4 of 8.8.8.8
  ])("allows %s", (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });

  it.each([
    "https://[::127.0.0.1]/hook",
    "https://[::ffff:0:127.0.0.1]/hook",
    "https://[64:ff9b::169.254.169.254]/latest/meta-data/",
    "https://[2002:7f00:1::1]/hook",
  ])("refuses to send to %s", async (url) => {
    const result = await sendWebhookRequest({
      url,
      headers: {},
      body: "{}",
      timeoutMs: 500,
      allowPrivate: false,
    });
    expect(result).toMatchObject({ ok: false, statusCode: null });
    expect(result.error).toMatch(/^refused: /);
  });
});
