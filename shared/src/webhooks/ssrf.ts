import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Hostname -> every address it resolves to. Injectable so tests can make a name point anywhere. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** The system resolver (getaddrinfo, like every other client on the host), all addresses. */
export const systemResolver: Resolver = async (hostname) => {
  const answers = await lookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** Ranges a customer's webhook must never reach: internal networks, the node itself, cloud metadata. */
const blocked = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network", incl. the unspecified address
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // CGNAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, incl. 169.254.169.254 metadata
  ["172.16.0.0", 12],
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.168.0.0", 16],
  ["198.18.0.0", 15], // benchmarking
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, incl. broadcast
] as const) {
  blocked.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128], // unspecified
  ["::1", 128], // loopback
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["ff00::", 8], // multicast
  ["64:ff9b:1::", 48], // local-use NAT64
] as const) {
  blocked.addSubnet(network, prefix, "ipv6");
}

/** The IPv4 address embedded in an IPv4-mapped (::ffff:a.b.c.d) or -compatible IPv6 address. */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^::(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted?.[1]) return dotted[1];
  // ::ffff:7f00:1 is the same address written in hex.
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex?.[1] && hex[2]) {
    const high = Number.parseInt(hex[1], 16);
    const low = Number.parseInt(hex[2], 16);
    return [high >> 8, high & 255, low >> 8, low & 255].join(".");
  }
  return undefined;
}

/**
 * True when `address` is private, loopback, link-local, unique-local,
 * unspecified, multicast or reserved — including IPv4 addresses wrapped in
 * IPv6. Anything that is not an IP address counts as forbidden.
 *
 * @example
 * isForbiddenAddress("169.254.169.254"); // true
 * isForbiddenAddress("93.184.215.14");   // false
 */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, "ipv4");
  if (family === 6) {
    const v4 = embeddedIpv4(address);
    if (v4 !== undefined) return isForbiddenAddress(v4);
    return blocked.check(address, "ipv6");
  }
  return true;
}

/** A destination refused by the SSRF guard; recorded on the attempt, counted as a failure. */
export class ForbiddenDestinationError extends Error {
  override name = "ForbiddenDestinationError";
}

export interface GuardOptions {
  /** `WEBHOOK_ALLOW_PRIVATE`: local development only. */
  allowPrivate: boolean;
  resolver?: Resolver;
}

/** URL hostnames keep IPv6 literals in brackets; the resolver and `isIP` want them bare. */
export function bareHostname(hostname: string): string {
  return hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
}

/**
 * Resolves `hostname` and returns the address to connect to. Refuses when ANY
 * resolved address is forbidden (a name with one public and one private
 * address could otherwise be steered to the private one). The caller must
 * connect to exactly this address, so the answer cannot change between the
 * check and the connection (DNS rebinding).
 */
export async function resolveSafeAddress(
  hostname: string,
  options: GuardOptions,
): Promise<ResolvedAddress> {
  const host = bareHostname(hostname);
  const literal = isIP(host);
  const addresses: ResolvedAddress[] = literal
    ? [{ address: host, family: literal === 6 ? 6 : 4 }]
    : await (options.resolver ?? systemResolver)(host).catch((error: unknown) => {
        throw new ForbiddenDestinationError(
          `could not resolve ${host}: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
  const first = addresses[0];
  if (!first) throw new ForbiddenDestinationError(`${host} resolved to no address`);
  if (!options.allowPrivate) {
    const bad = addresses.find((a) => isForbiddenAddress(a.address));
    if (bad) {
      throw new ForbiddenDestinationError(
        `refused: ${host} resolves to ${bad.address}, a private, loopback, link-local or reserved address`,
      );
    }
  }
  return first;
}
