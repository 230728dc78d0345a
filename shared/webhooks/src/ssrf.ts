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
/**
 * IPv6 is checked by allow-list: only global unicast (2000::/3) can be a
 * customer's server. Everything else — unspecified, loopback, unique-local,
 * link-local, site-local, multicast, discard, IPv4-compatible, local NAT64 —
 * is refused, minus the forms below that carry an IPv4 address, which are
 * judged by that address.
 */
const globalUnicast = new BlockList();
globalUnicast.addSubnet("2000::", 3, "ipv6");
/** Inside 2000::/3 but never a customer's server. */
const blockedGlobal = new BlockList();
for (const [network, prefix] of [
  ["2001::", 23], // IETF protocol assignments: Teredo, benchmarking, ORCHID, …
  ["2001:db8::", 32], // documentation
] as const) {
  blockedGlobal.addSubnet(network, prefix, "ipv6");
}

/** The eight 16-bit groups of an IPv6 address (zone id ignored), or undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  if (isIP(text) !== 6) return undefined;
  // A dotted IPv4 tail is the last two groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) =>
    part === "" ? [] : part.split(":").map((g) => Number.parseInt(g, 16));
  const gap = text.indexOf("::");
  if (gap < 0) return parse(text);
  const head = parse(text.slice(0, gap));
  const tail = parse(text.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/**
 * The IPv4 address an IPv6 address stands for, when it is one of the forms
 * that reach (or translate to) IPv4: IPv4-mapped ::ffff:0:0/96,
 * IPv4-translated ::ffff:0:0:0/96, NAT64 64:ff9b::/96 and 6to4 2002::/16.
 */
function embeddedIpv4(g: number[]): string | undefined {
  const v4 = (high: number, low: number) => [high >> 8, high & 255, low >> 8, low & 255].join(".");
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const [g0, g1, g2, , g4, g5, g6 = 0, g7 = 0] = g;
  if (zero(0, 5) && g5 === 0xffff) return v4(g6, g7);
  if (zero(0, 4) && g4 === 0xffff && g5 === 0) return v4(g6, g7);
  if (g0 === 0x64 && g1 === 0xff9b && zero(2, 6)) return v4(g6, g7);
  if (g0 === 0x2002) return v4(g1 ?? 0, g2 ?? 0);
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
  if (isIP(address) === 4) return blocked.check(address, "ipv4");
  const groups = ipv6Groups(address);
  if (!groups) return true;
  const v4 = embeddedIpv4(groups);
  if (v4 !== undefined) return isForbiddenAddress(v4);
  const canonical = groups.map((g) => g.toString(16)).join(":");
  return !globalUnicast.check(canonical, "ipv6") || blockedGlobal.check(canonical, "ipv6");
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
