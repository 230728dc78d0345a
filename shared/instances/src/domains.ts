import type { ClusterPort, DomainRoute } from "@minispod/cluster";
import {
  type Db,
  type DomainState,
  instanceDomains,
  isUniqueViolation,
  serviceInstances,
  subscriptions,
} from "@minispod/db";
import { enqueueEvent } from "@minispod/shared";
import { and, eq, isNotNull } from "drizzle-orm";
import { challengeName, type OwnershipCheck } from "./domain-names";
import { IN_CLUSTER } from "./spec";

export type DomainRow = typeof instanceDomains.$inferSelect;

/**
 * The wire form of a domain: its state in plain words and the two DNS
 * records the customer creates (TXT to prove ownership, CNAME to route).
 */
export function domainDto(row: DomainRow, instanceHost: string) {
  return {
    id: row.id,
    instanceId: row.instanceId,
    domain: row.domain,
    state: row.state,
    reason: row.reason,
    dnsRecords: [
      { type: "TXT" as const, name: challengeName(row.domain), value: row.token },
      { type: "CNAME" as const, name: row.domain, value: instanceHost },
    ],
    verifiedAt: row.verifiedAt?.toISOString() ?? null,
    lastCheckedAt: row.lastCheckedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
export type DomainDto = ReturnType<typeof domainDto>;

const EVENT_OF: Partial<
  Record<DomainState, "domain.verified" | "domain.active" | "domain.failed">
> = {
  ISSUING: "domain.verified",
  ACTIVE: "domain.active",
  FAILED: "domain.failed",
};

export interface DomainWriteOptions {
  now: Date;
  /** The CloudEvent source (the emitting function). */
  source: string;
}

/**
 * Moves a domain to `state` with `reason`; a change of state emits its event
 * (`domain.verified`, `domain.active`, `domain.failed`) in the same
 * transaction. Same state: only the reason and check time are written.
 */
export async function setDomainState(
  db: Db,
  row: DomainRow,
  next: { state: DomainState; reason: string | null; verifiedAt?: Date | undefined },
  options: DomainWriteOptions,
): Promise<DomainRow> {
  return db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(instanceDomains)
      .where(eq(instanceDomains.id, row.id))
      .for("update");
    if (!current) return row;
    const changed = current.state !== next.state;
    const [updated] = await tx
      .update(instanceDomains)
      .set({
        state: next.state,
        reason: next.reason,
        lastCheckedAt: options.now,
        ...(next.verifiedAt ? { verifiedAt: next.verifiedAt } : {}),
        ...(changed ? { stateChangedAt: options.now } : {}),
      })
      .where(eq(instanceDomains.id, row.id))
      .returning();
    const type = EVENT_OF[next.state];
    if (changed && type && updated) {
      await enqueueEvent(tx, {
        type,
        source: options.source,
        subject: updated.id,
        data: eventData(updated),
      });
    }
    return updated ?? current;
  });
}

/** The data of a `domain.*` event (never the token). */
export const eventData = (row: DomainRow) => ({
  userId: row.userId,
  domainId: row.id,
  instanceId: row.instanceId,
  domain: row.domain,
  state: row.state,
  reason: row.reason,
});

export const TAKEN_REASON = "another account has already verified this domain";

/**
 * Records the outcome of a TXT check of an unverified claim. Verified: the
 * claim owns the name from now on (ISSUING, `domain.verified`), unless
 * another account verified it first (the partial unique index decides),
 * which leaves the claim FAILED with `taken: true`. A DNS that did not
 * answer changes nothing but the reason and check time.
 */
export async function recordOwnershipCheck(
  db: Db,
  row: DomainRow,
  check: OwnershipCheck,
  options: DomainWriteOptions,
): Promise<{ row: DomainRow; taken: boolean }> {
  if (check.outcome === "verified") {
    const [owner] = await db
      .select({ id: instanceDomains.id })
      .from(instanceDomains)
      .where(and(eq(instanceDomains.domain, row.domain), isNotNull(instanceDomains.verifiedAt)));
    if (!owner || owner.id === row.id) {
      try {
        const updated = await setDomainState(
          db,
          row,
          {
            state: "ISSUING",
            reason: "ownership verified; waiting for the certificate",
            verifiedAt: options.now,
          },
          options,
        );
        return { row: updated, taken: false };
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
    }
    const failed = await setDomainState(
      db,
      row,
      { state: "FAILED", reason: TAKEN_REASON },
      options,
    );
    return { row: failed, taken: true };
  }
  // A claim whose verification window ran out stays FAILED until a check succeeds.
  const state = row.state === "FAILED" ? "FAILED" : "PENDING_VERIFICATION";
  const updated = await setDomainState(db, row, { state, reason: check.reason }, options);
  return { row: updated, taken: false };
}

/**
 * The state a verified domain is in, given what the cluster holds for it.
 * `issuingSince` is when it entered ISSUING: past `issueTimeoutMs` without a
 * certificate it is FAILED, with what to check.
 */
export function verdictOf(
  row: DomainRow,
  route: DomainRoute | undefined,
  options: { now: Date; issueTimeoutMs: number; instanceHost: string },
): { state: DomainState; reason: string } {
  if (!route?.routed) {
    return { state: "ISSUING", reason: "ownership verified; routing the domain" };
  }
  if (route.certificate === "ready")
    return { state: "ACTIVE", reason: "serving with its certificate" };
  if (route.certificate === "none") return { state: "ACTIVE", reason: route.reason };
  if (route.certificate === "failed") return { state: "FAILED", reason: route.reason };
  // Timed out already: it stays FAILED (with what to check) until the certificate is ready.
  if (row.state === "FAILED") return { state: "FAILED", reason: row.reason ?? route.reason };
  const waited = options.now.getTime() - row.stateChangedAt.getTime();
  if (row.state !== "ACTIVE" && waited > options.issueTimeoutMs) {
    return {
      state: "FAILED",
      reason: `no certificate after ${Math.round(options.issueTimeoutMs / 60_000)} minutes: check that ${row.domain} has a CNAME record pointing at ${options.instanceHost}`,
    };
  }
  return { state: row.state === "ACTIVE" ? "ACTIVE" : "ISSUING", reason: route.reason };
}

/** An instance with its owner and host, for the domain services. */
export async function loadDomainInstance(db: Db, instanceId: string) {
  const [row] = await db
    .select({
      id: serviceInstances.id,
      status: serviceInstances.status,
      host: serviceInstances.host,
      userId: subscriptions.userId,
    })
    .from(serviceInstances)
    .innerJoin(subscriptions, eq(subscriptions.id, serviceInstances.subscriptionId))
    .where(eq(serviceInstances.id, instanceId));
  return row;
}

export interface ConvergeDomainsOptions extends DomainWriteOptions {
  issueTimeoutMs: number;
  /** Re-apply even when the cluster already holds the wanted set (an event asked for it). */
  force?: boolean | undefined;
  /** Only read the cluster and record what it says (the instances API's "check now"). */
  readOnly?: boolean | undefined;
}

/**
 * Converges the cluster to the instance's verified domains (route +
 * certificate each), then records what the cluster says about each one:
 * ACTIVE once its certificate is ready, FAILED with cert-manager's reason or
 * after DOMAIN_ISSUE_TIMEOUT. Applies only when something differs (or
 * `force`), so the sweep costs one read per instance when all is well.
 */
export async function convergeDomains(
  db: Db,
  cluster: ClusterPort,
  instanceId: string,
  options: ConvergeDomainsOptions,
): Promise<{ applied: boolean; changed: number; skipped?: string }> {
  const instance = await loadDomainInstance(db, instanceId);
  if (!instance) return { applied: false, changed: 0, skipped: "no-instance" };
  if (!IN_CLUSTER.includes(instance.status)) {
    return { applied: false, changed: 0, skipped: "not-in-cluster" };
  }
  const ref = { customerId: instance.userId, instanceId };
  const rows = await db
    .select()
    .from(instanceDomains)
    .where(and(eq(instanceDomains.instanceId, instanceId), isNotNull(instanceDomains.verifiedAt)));
  const wanted = rows.map((r) => r.domain).sort();
  let routes = await cluster.readDomainStatus(ref);
  const held = new Map(routes.map((r) => [r.domain, r]));
  const stale =
    options.force ||
    routes.length !== wanted.length ||
    wanted.some((d) => {
      const r = held.get(d);
      return !r?.routed || r.certificate === "missing" || (r.certificate === "ready" && !r.tls);
    });
  if (stale && !options.readOnly) {
    routes = await cluster.setInstanceDomains(ref, wanted);
    await db
      .update(serviceInstances)
      .set({ routedDomains: wanted.length })
      .where(eq(serviceInstances.id, instanceId));
  }
  const byDomain = new Map(routes.map((r) => [r.domain, r]));
  let changed = 0;
  for (const row of rows) {
    const verdict = verdictOf(row, byDomain.get(row.domain), {
      now: options.now,
      issueTimeoutMs: options.issueTimeoutMs,
      instanceHost: instance.host,
    });
    if (verdict.state !== row.state || verdict.reason !== row.reason) {
      await setDomainState(db, row, verdict, options);
      if (verdict.state !== row.state) changed++;
    }
  }
  return { applied: stale && !options.readOnly, changed };
}
