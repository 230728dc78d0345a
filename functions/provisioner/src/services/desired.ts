import type { InstanceRecord } from "@minispod/instances";

/** What the cluster should hold for an instance. */
export type Desired = "running" | "suspended" | "deleted" | "nothing";

/**
 * Decided from the subscription as it is now in the database, never from
 * the event that woke us: a late `activated` after `cancelled` finds the
 * subscription CANCELLED and deletes, so nothing is resurrected. DELETED is
 * final for an instance: whatever else is said, its objects are deleted
 * (again: a no-op normally, but it removes what a racing apply of a
 * concurrent delivery or sweep may have re-created).
 *
 * `purged` (the retention window of an EXPIRED subscription is over) only
 * deletes while the subscription is still not live: a renewal that won the
 * race keeps the instance.
 */
export function desiredOf(
  record: Pick<InstanceRecord, "instance" | "subscription">,
  options: { purged?: boolean } = {},
): Desired {
  if (record.instance.status === "DELETED") return "deleted";
  switch (record.subscription.status) {
    case "ACTIVE":
    case "PAST_DUE":
      return "running";
    case "EXPIRED":
      return options.purged ? "deleted" : "suspended";
    case "CANCELLED":
    case "FAILED":
      return "deleted";
    default:
      // PENDING: not paid yet, nothing to run.
      return "nothing";
  }
}
