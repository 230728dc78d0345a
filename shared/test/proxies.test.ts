import { describe, expect, it } from "vitest";
import { baseEnvSchema, EnvError, parseEnv } from "../src/env";
import { parseCidr, resolveClientIp } from "../src/proxies";

const cluster = { hops: 1, proxies: ["10.42.0.0/16", "10.43.0.0/16", "127.0.0.0/8", "::1"] };

describe("client address behind proxies", () => {
  it("counts hops from the right without TRUSTED_PROXIES, and ignores what the client wrote further left", () => {
    const hops = (n: number) => ({ hops: n, proxies: [] });
    expect(resolveClientIp("198.51.100.7, 203.0.113.5", "10.42.0.9", hops(1))).toBe("203.0.113.5");
    expect(resolveClientIp("198.51.100.7, 203.0.113.5, 10.42.0.9", "::1", hops(2))).toBe(
      "203.0.113.5",
    );
    // More hops than entries: the leftmost; none trusted, or no header: the socket's peer.
    expect(resolveClientIp("203.0.113.5", "10.42.0.9", hops(3))).toBe("203.0.113.5");
    expect(resolveClientIp("203.0.113.5", "10.42.0.9", hops(0))).toBe("10.42.0.9");
    expect(resolveClientIp(undefined, "203.0.113.5", hops(1))).toBe("203.0.113.5");
    expect(resolveClientIp(undefined, undefined, hops(1))).toBe("unknown");
  });

  it("with TRUSTED_PROXIES takes the first address outside them from the right, however many proxies took part", () => {
    // Warm: Traefik -> Kourier -> queue-proxy. Scaled from zero: the activator too.
    expect(resolveClientIp("203.0.113.5, 10.42.0.9", "127.0.0.1", cluster)).toBe("203.0.113.5");
    expect(resolveClientIp("203.0.113.5, 10.42.0.9, 10.42.1.3", "127.0.0.1", cluster)).toBe(
      "203.0.113.5",
    );
    // What the client sent itself, left of the ingress's entry, is never believed.
    expect(resolveClientIp("1.2.3.4, 203.0.113.5, 10.42.0.9", "127.0.0.1", cluster)).toBe(
      "203.0.113.5",
    );
    // A client that talks to the function directly is its socket's peer.
    expect(resolveClientIp("1.2.3.4", "203.0.113.5", cluster)).toBe("203.0.113.5");
    // Every hop one of ours: the request came from inside; the leftmost is as close as it gets.
    expect(resolveClientIp("10.42.7.7, 10.42.0.9", "127.0.0.1", cluster)).toBe("10.42.7.7");
    expect(resolveClientIp(undefined, "10.42.0.9", cluster)).toBe("10.42.0.9");
  });

  it("reads IPv4 clients of a dual-stack socket and IPv6 ranges", () => {
    expect(resolveClientIp(undefined, "::ffff:203.0.113.5", cluster)).toBe("203.0.113.5");
    expect(resolveClientIp("203.0.113.5", "::ffff:10.42.0.9", cluster)).toBe("203.0.113.5");
    const v6 = { hops: 1, proxies: ["fd00::/8"] };
    expect(resolveClientIp("2001:db8::1, fd00::5", "fd00::7", v6)).toBe("2001:db8::1");
    // Not an address at all: not one of ours either.
    expect(resolveClientIp("203.0.113.5, unknown", "10.42.0.9", cluster)).toBe("unknown");
  });

  it("parses addresses and CIDR ranges, and nothing else", () => {
    expect(parseCidr("10.42.0.0/16")).toEqual({ address: "10.42.0.0", prefix: 16, family: "ipv4" });
    expect(parseCidr("::1")).toEqual({ address: "::1", prefix: 128, family: "ipv6" });
    expect(parseCidr(" 192.0.2.1 ")).toEqual({ address: "192.0.2.1", prefix: 32, family: "ipv4" });
    for (const bad of [
      "10.42.0.0/33",
      "10.42/16",
      "fd00::/129",
      "host.local",
      "10.0.0.0/8/1",
      "1.2.3.4/x",
    ])
      expect(parseCidr(bad), bad).toBeUndefined();
  });

  it("takes TRUSTED_PROXIES from the environment and names a bad entry at start-up", () => {
    const base = { DATABASE_URL: "pglite://memory" };
    expect(parseEnv(baseEnvSchema, base).TRUSTED_PROXIES).toEqual([]);
    // Nothing fronts a process unless the deployment says so.
    expect(parseEnv(baseEnvSchema, base).TRUST_PROXY_HOPS).toBe(0);
    expect(
      parseEnv(baseEnvSchema, { ...base, TRUSTED_PROXIES: "10.42.0.0/16, ::1" }).TRUSTED_PROXIES,
    ).toEqual(["10.42.0.0/16", "::1"]);
    expect(() =>
      parseEnv(baseEnvSchema, { ...base, TRUSTED_PROXIES: "10.42.0.0/16,cluster" }),
    ).toThrow(EnvError);
    expect(() => parseEnv(baseEnvSchema, { ...base, TRUSTED_PROXIES: "10.42.0.0/40" })).toThrow(
      /TRUSTED_PROXIES.*CIDR/,
    );
  });
});
