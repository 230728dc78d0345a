import { BlockList, isIPv4, isIPv6 } from "node:net";

/**
 * Which entries of X-Forwarded-For were written by our own proxies. Each
 * proxy appends the address it received the request from, so everything
 * left of what our proxies wrote is whatever the client chose to send.
 *
 * - `proxies` (CIDR ranges, `TRUSTED_PROXIES`): the client is the first
 *   address from the right, the socket's peer included, that is not one of
 *   them. It holds however many proxies took part (Knative's activator is in
 *   the path only while a function scales from zero or takes a burst).
 * - otherwise `hops` (`TRUST_PROXY_HOPS`): the client is that many entries
 *   from the right; with 0, or without the header, the socket's peer.
 */
export interface ProxyTrust {
  hops: number;
  proxies: readonly string[];
}

/** Without configuration: nothing in front, the socket's peer is the client. */
export const DEFAULT_PROXY_TRUST: ProxyTrust = { hops: 0, proxies: [] };

type Family = "ipv4" | "ipv6";

const familyOf = (address: string): Family | undefined =>
  isIPv4(address) ? "ipv4" : isIPv6(address) ? "ipv6" : undefined;

/** "10.42.0.0/16", "::1" (a whole address) -> its parts; undefined when it is not one. */
export function parseCidr(
  text: string,
): { address: string; prefix: number; family: Family } | undefined {
  const [address = "", bits, extra] = text.trim().split("/");
  if (extra !== undefined) return undefined;
  const family = familyOf(address);
  if (!family) return undefined;
  const max = family === "ipv4" ? 32 : 128;
  if (bits === undefined) return { address, prefix: max, family };
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return undefined;
  return { address, prefix: Number(bits), family };
}

const lists = new WeakMap<readonly string[], BlockList>();

function listOf(proxies: readonly string[]): BlockList {
  let list = lists.get(proxies);
  if (!list) {
    list = new BlockList();
    for (const entry of proxies) {
      const cidr = parseCidr(entry);
      if (cidr) list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
    lists.set(proxies, list);
  }
  return list;
}

/** "::ffff:10.0.0.1" (an IPv4 client on a dual-stack socket) -> "10.0.0.1". */
function plain(address: string): string {
  return address.startsWith("::ffff:") && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = familyOf(address);
  return family !== undefined && list.check(address, family);
}

/**
 * The client's address from the X-Forwarded-For header and the socket's peer,
 * trusting only what `trust` names (see ProxyTrust).
 *
 * @example
 * resolveClientIp("203.0.113.9, 10.42.0.7", "127.0.0.1", { hops: 1, proxies: ["10.42.0.0/16", "127.0.0.0/8"] });
 * // "203.0.113.9"
 */
export function resolveClientIp(
  forwardedFor: string | undefined,
  peer: string | undefined,
  trust: ProxyTrust,
): string {
  const entries = (forwardedFor ?? "")
    .split(",")
    .map((entry) => plain(entry.trim()))
    .filter(Boolean);
  const socket = peer ? plain(peer) : undefined;
  if (trust.proxies.length > 0) {
    const chain = socket ? [...entries, socket] : entries;
    const list = listOf(trust.proxies);
    for (let i = chain.length - 1; i >= 0; i--) {
      if (!isTrusted(list, chain[i]!)) return chain[i]!;
    }
    // Every hop was one of ours: the request came from inside.
    return chain[0] ?? "unknown";
  }
  if (trust.hops > 0 && entries.length > 0) {
    return entries[Math.max(0, entries.length - trust.hops)]!;
  }
  return socket ?? "unknown";
}
