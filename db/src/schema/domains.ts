import { sql } from "drizzle-orm";
import { index, pgEnum, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, ts, updatedAt } from "./_common";
import { serviceInstances } from "./instances";
import { users } from "./users";

export const domainState = pgEnum("domain_state", [
  "PENDING_VERIFICATION",
  "ISSUING",
  "ACTIVE",
  "FAILED",
]);
export type DomainState = (typeof domainState.enumValues)[number];

/**
 * A custom domain a customer claims for one of their instances. Ownership is
 * proven by a TXT record `_minispod-challenge.<domain>` holding `token`;
 * then the provisioner routes it and requests a certificate.
 *
 * Unverified claims block nobody: anyone may claim a name, the first to
 * prove it owns it (`verified_at` set) keeps it, enforced by the partial
 * unique index below.
 */
export const instanceDomains = pgTable(
  "instance_domains",
  {
    id: id(),
    instanceId: uuid("instance_id")
      .notNull()
      .references(() => serviceInstances.id, { onDelete: "cascade" }),
    /** The owner (the instance's customer), for account views and the uniqueness rule. */
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** Lowercase ASCII (IDN as punycode), without a trailing dot. */
    domain: text("domain").notNull(),
    /** The value the TXT record must hold; random, per claim. */
    token: text("token").notNull(),
    state: domainState("state").notNull().default("PENDING_VERIFICATION"),
    /** Why it is in its state, in plain words (what to fix when FAILED). */
    reason: text("reason"),
    verifiedAt: ts("verified_at"),
    lastCheckedAt: ts("last_checked_at"),
    stateChangedAt: ts("state_changed_at").notNull().defaultNow(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("instance_domains_instance_domain_uq").on(t.instanceId, t.domain),
    uniqueIndex("instance_domains_verified_uq")
      .on(t.domain)
      .where(sql`${t.verifiedAt} is not null`),
    index("instance_domains_user_idx").on(t.userId, t.createdAt),
    index("instance_domains_state_idx").on(t.state),
  ],
);
