import { startTestDnsServer, type TestDnsServer } from "@minispod/shared/testing";
import * as v from "valibot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkOwnership,
  createDomainResolver,
  domainEnvEntries,
  normalizeDomain,
} from "../src/domain-names";

const PLATFORM = "apps.minispod.test";

describe("normalizeDomain", () => {
  it.each([
    ["Shop.Example.COM", "shop.example.com"],
    ["shop.example.com.", "shop.example.com"],
    ["  blog.example.org ", "blog.example.org"],
    ["bücher.example", "xn--bcher-kva.example"],
    ["xn--bcher-kva.example", "xn--bcher-kva.example"],
    ["a-b.c-d.example.net", "a-b.c-d.example.net"],
  ])("accepts %s as %s", (input, domain) => {
    expect(normalizeDomain(input, PLATFORM)).toEqual({ ok: true, domain });
  });

  it.each([
    ["", "is required"],
    ["localhost", "two labels"],
    ["shop.localhost", "reserved"],
    ["example", "at least two labels"],
    ["192.168.1.10", "IP address"],
    ["::1", "IP address"],
    ["[2001:db8::1]", "IP address"],
    ["10.0.0.1.", "IP address"],
    ["https://shop.example.com", "host name"],
    ["shop.example.com/path", "host name"],
    ["*.example.com", "host name"],
    ["-shop.example.com", "labels"],
    ["shop-.example.com", "labels"],
    ["shop_1.example.com", "labels"],
    ["a..example.com", "host name"],
    [`${"a".repeat(64)}.example.com`, "labels"],
    [`${Array.from({ length: 60 }, () => "abcd").join(".")}.com`, "253"],
    ["printer.local", "reserved"],
    ["db.internal", "reserved"],
    [PLATFORM, "platform"],
    [`i-123.${PLATFORM}`, "platform"],
    [`Deep.Sub.${PLATFORM.toUpperCase()}`, "platform"],
  ])("refuses %j", (input, words) => {
    const result = normalizeDomain(input, PLATFORM);
    expect(result.ok).toBe(false);
    expect(result.ok ? "" : result.message).toContain(words);
  });
});

describe("domain settings", () => {
  const schema = v.object(domainEnvEntries);
  it("reads resolvers as a list, defaults to the system's", () => {
    expect(v.parse(schema, {}).DNS_RESOLVERS).toEqual([]);
    expect(
      v.parse(schema, { DNS_RESOLVERS: "1.1.1.1, 127.0.0.1:5353,[::1]:53" }).DNS_RESOLVERS,
    ).toEqual(["1.1.1.1", "127.0.0.1:5353", "[::1]:53"]);
    expect(v.parse(schema, {}).DOMAIN_ISSUE_TIMEOUT).toBe(3600);
    expect(v.safeParse(schema, { DNS_RESOLVERS: "dns.google" }).success).toBe(false);
  });
});

describe("checkOwnership against a real DNS server", () => {
  let dns: TestDnsServer;
  beforeAll(async () => {
    dns = await startTestDnsServer();
  });
  afterAll(() => dns.close());
  const resolver = () => createDomainResolver({ servers: [dns.address], timeoutMs: 400 });

  it("finds the token in the TXT record, among others and split into strings", async () => {
    dns.set("_minispod-challenge.shop.example.com", "TXT", ["v=spf1 -all", "tok-123"]);
    expect(await checkOwnership(resolver(), "shop.example.com", "tok-123")).toEqual({
      outcome: "verified",
    });
    const long = `tok-${"x".repeat(300)}`;
    dns.set("_minispod-challenge.long.example.com", "TXT", [long]);
    expect(await checkOwnership(resolver(), "long.example.com", long)).toEqual({
      outcome: "verified",
    });
  });

  it("says the record holds something else for a wrong token", async () => {
    dns.set("_minispod-challenge.wrong.example.com", "TXT", ["someone-elses-token"]);
    expect(await checkOwnership(resolver(), "wrong.example.com", "tok-123")).toEqual({
      outcome: "not-verified",
      reason:
        "the TXT record at _minispod-challenge.wrong.example.com does not hold this domain's token",
    });
  });

  it("says no record was found for a missing name and for a name without TXT", async () => {
    expect(await checkOwnership(resolver(), "missing.example.com", "tok")).toEqual({
      outcome: "not-verified",
      reason: "no TXT record found at _minispod-challenge.missing.example.com",
    });
    dns.set("_minispod-challenge.cname.example.com", "A", ["203.0.113.7"]);
    expect(await checkOwnership(resolver(), "cname.example.com", "tok")).toMatchObject({
      outcome: "not-verified",
    });
  });

  it("knows nothing when the server does not answer", async () => {
    dns.silence("_minispod-challenge.slow.example.com");
    const result = await checkOwnership(resolver(), "slow.example.com", "tok");
    expect(result.outcome).toBe("unknown");
    expect(result.outcome === "unknown" && result.reason).toMatch(/DNS did not answer.*ETIMEOUT/);
  });

  it("answers CNAME and A questions too (what customers point at the instance)", async () => {
    dns.set("www.example.com", "CNAME", ["i-1.apps.minispod.test"]);
    dns.set("i-1.apps.minispod.test", "A", ["203.0.113.9"]);
    const r = createDomainResolver({ servers: [dns.address], timeoutMs: 400 }) as unknown as {
      resolveCname(n: string): Promise<string[]>;
      resolve4(n: string): Promise<string[]>;
    };
    expect(await r.resolveCname("www.example.com")).toEqual(["i-1.apps.minispod.test"]);
    expect(await r.resolve4("i-1.apps.minispod.test")).toEqual(["203.0.113.9"]);
  });
});
