import { randomBytes } from "node:crypto";
import { Resolver } from "node:dns/promises";
import { isIP } from "node:net";
import { domainToASCII } from "node:url";
import { envField } from "@minispod/shared";
import * as v from "valibot";

/** The TXT record a customer creates to prove they own `domain`. */
export const CHALLENGE_LABEL = "_minispod-challenge";
export const challengeName = (domain: string) => `${CHALLENGE_LABEL}.${domain}`;

/** A per-claim token: 24 random bytes, URL-safe (what the TXT record must hold). */
export const newChallengeToken = () => `minispod-verify-${randomBytes(24).toString("base64url")}`;

/** Names no customer may claim: they never resolve publicly or belong to DNS itself. */
const RESERVED_SUFFIXES = ["localhost", "local", "internal", "invalid", "arpa", "home.arpa", "lan"];
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export type DomainCheck = { ok: true; domain: string } | { ok: false; message: string };

/**
 * A customer's domain as we store it: trimmed, lowercase, an IDN as
 * punycode (`bücher.example` -> `xn--bcher-kva.example`), no trailing dot.
 * Refuses IP addresses, single labels, reserved suffixes, names longer than
 * DNS allows, and the platform's own apps domain and its subdomains.
 *
 * @example
 * normalizeDomain("Shop.Example.COM.", "apps.minispod.dev"); // { ok: true, domain: "shop.example.com" }
 */
export function normalizeDomain(input: string, platformDomain: string): DomainCheck {
  const trimmed = input.trim().replace(/\.$/, "");
  if (trimmed.length === 0) return { ok: false, message: "is required" };
  if (isIP(trimmed) || isIP(trimmed.replace(/^\[|\]$/g, ""))) {
    return { ok: false, message: "must be a host name, not an IP address" };
  }
  if (/[\s/:@?#*]/.test(trimmed) || trimmed.includes("..")) {
    return { ok: false, message: "must be a host name like shop.example.com" };
  }
  const ascii = domainToASCII(trimmed.toLowerCase());
  if (!ascii) return { ok: false, message: "must be a host name like shop.example.com" };
  if (ascii.length > 253) return { ok: false, message: "must be at most 253 characters" };
  const labels = ascii.split(".");
  if (labels.length < 2) {
    return { ok: false, message: "must have at least two labels, like example.com" };
  }
  if (!labels.every((l) => LABEL.test(l))) {
    return {
      ok: false,
      message: "must be made of labels of letters, digits and inner hyphens, 63 characters at most",
    };
  }
  if (/^\d+$/.test(labels.at(-1) ?? "")) {
    return { ok: false, message: "must be a host name, not an IP address" };
  }
  const platform = platformDomain.toLowerCase();
  if (ascii === platform || ascii.endsWith(`.${platform}`)) {
    return { ok: false, message: `must not be under the platform's own domain ${platform}` };
  }
  if (RESERVED_SUFFIXES.some((s) => ascii === s || ascii.endsWith(`.${s}`))) {
    return { ok: false, message: "is a reserved name that does not resolve publicly" };
  }
  return { ok: true, domain: ascii };
}

/** The DNS lookups domain verification needs: a subset of `dns.promises.Resolver`. */
export interface DomainResolver {
  resolveTxt(name: string): Promise<string[][]>;
}

/**
 * A resolver asking `servers` ("10.0.0.53", "127.0.0.1:5353", "[::1]:53"),
 * or the system's when the list is empty; one try of `timeoutMs` each.
 *
 * @example
 * const resolver = createDomainResolver({ servers: env.DNS_RESOLVERS, timeoutMs: env.DNS_TIMEOUT_MS });
 */
export function createDomainResolver(options: {
  servers: readonly string[];
  timeoutMs: number;
}): DomainResolver {
  const resolver = new Resolver({ timeout: options.timeoutMs, tries: 1 });
  if (options.servers.length > 0) resolver.setServers([...options.servers]);
  return resolver;
}

export type OwnershipCheck =
  | { outcome: "verified" }
  /** The record is missing or holds something else: the customer has to fix DNS. */
  | { outcome: "not-verified"; reason: string }
  /** DNS did not answer: nothing is known, try again later. */
  | { outcome: "unknown"; reason: string };

const MISSING = new Set(["ENOTFOUND", "ENODATA", "NXDOMAIN", "ENONAME"]);

/**
 * Looks for `token` in the TXT records at `_minispod-challenge.<domain>`.
 * A record split into several strings counts as their concatenation.
 */
export async function checkOwnership(
  resolver: DomainResolver,
  domain: string,
  token: string,
): Promise<OwnershipCheck> {
  const name = challengeName(domain);
  let records: string[][];
  try {
    records = await resolver.resolveTxt(name);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && MISSING.has(code)) {
      return { outcome: "not-verified", reason: `no TXT record found at ${name}` };
    }
    return {
      outcome: "unknown",
      reason: `DNS did not answer for ${name}${typeof code === "string" ? ` (${code})` : ""}; it is checked again shortly`,
    };
  }
  if (records.some((chunks) => chunks.join("").trim() === token)) return { outcome: "verified" };
  return {
    outcome: "not-verified",
    reason:
      records.length === 0
        ? `no TXT record found at ${name}`
        : `the TXT record at ${name} does not hold this domain's token`,
  };
}

const resolverList = v.pipe(
  v.string(),
  v.transform((s) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean),
  ),
  v.check(
    (list) =>
      list.every((server) => {
        const m =
          /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(server) ?? /^([^:]+)(?::(\d{1,5}))?$/.exec(server);
        return m !== null && isIP(m[1] ?? "") !== 0;
      }) || list.every((server) => isIP(server) === 6),
    "must be a comma-separated list of IP addresses (with an optional :port)",
  ),
);

/** Custom domain settings of the instances API and the provisioner. */
export const domainEnvEntries = {
  /** DNS servers that check TXT records, e.g. "1.1.1.1,8.8.8.8" or "127.0.0.1:5353"; unset: the system's. */
  DNS_RESOLVERS: v.optional(resolverList, ""),
  /** Longest wait for one DNS answer, in ms. */
  DNS_TIMEOUT_MS: envField.int(5000, 100, 60_000),
  /** An unverified claim is checked by the sweep for this long, then FAILED. */
  DOMAIN_VERIFY_WINDOW: envField.duration("7d"),
  /** A verified domain without a certificate after this long is FAILED (with what to check). */
  DOMAIN_ISSUE_TIMEOUT: envField.duration("1h"),
};
