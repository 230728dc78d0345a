import {
  bigint,
  index,
  integer,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { createdAt, id, logId, ts, updatedAt } from "./_common";
import { subscriptions } from "./subscriptions";

export const instanceStatus = pgEnum("instance_status", [
  "PENDING",
  "PROVISIONING",
  "RUNNING",
  "FAILED",
  "SUSPENDED",
  "DELETING",
  "DELETED",
]);
export type InstanceStatus = (typeof instanceStatus.enumValues)[number];

/** One per subscription: where and how the customer's app runs. */
export const serviceInstances = pgTable(
  "service_instances",
  {
    id: id(),
    subscriptionId: uuid("subscription_id")
      .notNull()
      .references(() => subscriptions.id, { onDelete: "cascade" }),
    namespace: text("namespace").notNull(),
    /** Deterministic base name of every cluster object of this instance. */
    objectName: text("object_name").notNull(),
    host: text("host").notNull(),
    url: text("url").notNull(),
    status: instanceStatus("status").notNull().default("PENDING"),
    /** Last problem in plain words ("image could not be pulled"), null when healthy. */
    lastError: text("last_error"),
    /** When `status` last changed: a provision still starting past its deadline becomes FAILED. */
    statusChangedAt: ts("status_changed_at").notNull().defaultNow(),
    /**
     * Custom domains the cluster was last told to route for it: the domain sweep
     * visits it while this is not 0, so a lost `domain.removed` still takes the route down.
     */
    routedDomains: integer("routed_domains").notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("service_instances_subscription_uq").on(t.subscriptionId),
    uniqueIndex("service_instances_host_uq").on(t.host),
    index("service_instances_status_idx").on(t.status),
  ],
);

/** Status timeline of an instance: one row per transition, newest last. */
export const instanceStatusEvents = pgTable(
  "instance_status_events",
  {
    id: logId(),
    instanceId: uuid("instance_id")
      .notNull()
      .references(() => serviceInstances.id, { onDelete: "cascade" }),
    status: instanceStatus("status").notNull(),
    message: text("message"),
    createdAt: createdAt(),
    /** Order of lines written in one transaction (same created_at). */
    seq: bigint("seq", { mode: "number" }).generatedAlwaysAsIdentity(),
  },
  (t) => [index("instance_status_events_instance_idx").on(t.instanceId, t.createdAt)],
);

/**
 * The app credentials a customer is handed (the catalog's `credentials`):
 * each generated value sealed with AES-256-GCM (`keyId` names the key of
 * CREDENTIALS_KEYS it was sealed with), never stored in clear.
 */
export const instanceCredentials = pgTable(
  "instance_credentials",
  {
    instanceId: uuid("instance_id")
      .notNull()
      .references(() => serviceInstances.id, { onDelete: "cascade" }),
    /** The environment variable (one of the catalog's generatedSecrets). */
    name: text("name").notNull(),
    keyId: text("key_id").notNull(),
    sealed: text("sealed").notNull(),
    /** 1 when generated at provision, +1 per rotation. */
    version: integer("version").notNull().default(1),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.instanceId, t.name] })],
);
