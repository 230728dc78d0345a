import type {
  V1LabelSelector,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
} from "@kubernetes/client-node";

/**
 * A small evaluator of NetworkPolicy semantics (matchLabels and ipBlock, the
 * parts our policies use), so tests can ask of the policies read back from
 * the API server: may this pod talk to that one? It refuses selectors it
 * does not understand rather than guess.
 */
export interface Endpoint {
  namespaceLabels: Record<string, string>;
  podLabels: Record<string, string>;
  ip: string;
  port: number;
  protocol?: "TCP" | "UDP";
}

function selects(selector: V1LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  if (selector.matchExpressions?.length)
    throw new Error("matchExpressions not supported by this evaluator");
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

const ipToInt = (ip: string) => ip.split(".").reduce((n, part) => (n << 8) + Number(part), 0) >>> 0;
function inCidr(ip: string, cidr: string): boolean {
  if (ip.includes(":") !== cidr.includes(":")) return false;
  if (cidr.includes(":")) throw new Error("IPv6 not supported by this evaluator");
  const [base, bits] = cidr.split("/") as [string, string];
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  return (ipToInt(ip) & mask) === (ipToInt(base) & mask);
}

function peerMatches(
  peer: V1NetworkPolicyPeer,
  other: Endpoint,
  policyNamespaceLabels: Record<string, string>,
) {
  if (peer.ipBlock) {
    return (
      inCidr(other.ip, peer.ipBlock.cidr) &&
      !(peer.ipBlock.except ?? []).some((c) => inCidr(other.ip, c))
    );
  }
  // A podSelector alone means pods of the policy's own namespace.
  const nsOk = peer.namespaceSelector
    ? selects(peer.namespaceSelector, other.namespaceLabels)
    : selects({ matchLabels: policyNamespaceLabels }, other.namespaceLabels);
  return nsOk && selects(peer.podSelector, other.podLabels);
}

const portOk = (ports: { port?: unknown; protocol?: string }[] | undefined, target: Endpoint) =>
  !ports?.length ||
  ports.some(
    (p) =>
      (p.port === undefined || p.port === target.port) &&
      (p.protocol ?? "TCP") === (target.protocol ?? "TCP"),
  );

/** Does `policies` (all of one namespace) let `pod` receive traffic from `from`? */
export function ingressAllowed(
  policies: V1NetworkPolicy[],
  pod: Endpoint,
  from: Endpoint,
): boolean {
  const applying = policies.filter(
    (p) =>
      selects(p.spec?.podSelector, pod.podLabels) &&
      (p.spec?.policyTypes ?? ["Ingress"]).includes("Ingress"),
  );
  if (applying.length === 0) return true;
  return applying.some((p) =>
    (p.spec?.ingress ?? []).some(
      (rule) =>
        (!rule._from?.length ||
          rule._from.some((peer) => peerMatches(peer, from, pod.namespaceLabels))) &&
        portOk(rule.ports, pod),
    ),
  );
}

/** Does `policies` (all of one namespace) let `pod` send traffic to `to`? */
export function egressAllowed(policies: V1NetworkPolicy[], pod: Endpoint, to: Endpoint): boolean {
  const applying = policies.filter(
    (p) =>
      selects(p.spec?.podSelector, pod.podLabels) && (p.spec?.policyTypes ?? []).includes("Egress"),
  );
  if (applying.length === 0) return true;
  return applying.some((p) =>
    (p.spec?.egress ?? []).some(
      (rule) =>
        (!rule.to?.length || rule.to.some((peer) => peerMatches(peer, to, pod.namespaceLabels))) &&
        portOk(rule.ports, to),
    ),
  );
}

/** Traffic flows only when the sender's egress and the receiver's ingress both allow it. */
export const canReach = (
  fromPolicies: V1NetworkPolicy[],
  from: Endpoint,
  toPolicies: V1NetworkPolicy[],
  to: Endpoint,
) => egressAllowed(fromPolicies, from, to) && ingressAllowed(toPolicies, to, from);
