import { type Db, simulatedDomains, simulatedWorkloads } from "@minispod/db";
import { and, eq, notInArray } from "drizzle-orm";
import { type ClusterDomains, ClusterError, type DomainRoute, type InstanceRef } from "../port";

/**
 * A domain whose first label is this one never gets its certificate in the
 * simulated cluster, so local mode can show FAILED (like cert-manager when
 * the domain does not point at the cluster).
 */
export const SIMULATED_CERT_FAILURE_LABEL = "cert-fails";

/** Time a simulated certificate takes: two rollout steps (at least 1 ms past the request). */
export const simulatedIssueMs = (delayMs: number) => delayMs * 2;

/**
 * Custom domains of the simulated cluster: one row per routed domain, its
 * certificate "issuing" until the simulated delay has passed, then "ready"
 * (and served over TLS), or "failed" for a `cert-fails.` domain.
 */
export function simulatedDomainMethods(options: {
  db: Db;
  delayMs: number;
  now: () => Date;
}): ClusterDomains {
  const { db, delayMs, now } = options;

  const route = (row: typeof simulatedDomains.$inferSelect): DomainRoute => {
    if (row.domain.split(".")[0] === SIMULATED_CERT_FAILURE_LABEL) {
      return {
        domain: row.domain,
        routed: true,
        tls: false,
        certificate: "failed",
        reason:
          "the certificate could not be issued: the certificate authority could not reach the domain over HTTP (simulated)",
      };
    }
    const ready = now().getTime() - row.requestedAt.getTime() >= simulatedIssueMs(delayMs);
    return ready
      ? {
          domain: row.domain,
          routed: true,
          tls: true,
          certificate: "ready",
          reason: "certificate issued",
        }
      : {
          domain: row.domain,
          routed: true,
          tls: false,
          certificate: "issuing",
          reason: "waiting for the certificate authority",
        };
  };

  const rowsOf = (ref: InstanceRef) =>
    db
      .select()
      .from(simulatedDomains)
      .where(
        and(
          eq(simulatedDomains.instanceId, ref.instanceId),
          eq(simulatedDomains.customerId, ref.customerId),
        ),
      )
      .orderBy(simulatedDomains.domain);

  return {
    async setInstanceDomains(ref, wanted) {
      const domains = [...new Set(wanted)].sort();
      await db.transaction(async (tx) => {
        if (domains.length > 0) {
          const [workload] = await tx
            .select({ customerId: simulatedWorkloads.customerId })
            .from(simulatedWorkloads)
            .where(eq(simulatedWorkloads.instanceId, ref.instanceId));
          if (!workload || workload.customerId !== ref.customerId) {
            throw new ClusterError(
              "not_found",
              `instance ${ref.instanceId} is not in the simulated cluster`,
              { status: 404 },
            );
          }
        }
        await tx
          .delete(simulatedDomains)
          .where(
            and(
              eq(simulatedDomains.instanceId, ref.instanceId),
              domains.length > 0 ? notInArray(simulatedDomains.domain, domains) : undefined,
            ),
          );
        if (domains.length > 0) {
          // Like server-side apply: a domain already there keeps its certificate's progress.
          await tx
            .insert(simulatedDomains)
            .values(
              domains.map((domain) => ({
                instanceId: ref.instanceId,
                customerId: ref.customerId,
                domain,
                requestedAt: now(),
              })),
            )
            .onConflictDoNothing();
        }
      });
      // What the instance holds now is exactly `domains`.
      return (await rowsOf(ref)).map(route);
    },

    async readDomainStatus(ref) {
      return (await rowsOf(ref)).map(route);
    },
  };
}

/** deleteInstance's part: the instance's domains go with it. */
export const deleteSimulatedDomains = (db: Db, ref: InstanceRef) =>
  db.delete(simulatedDomains).where(eq(simulatedDomains.instanceId, ref.instanceId));
