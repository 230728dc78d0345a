import { index, integer, jsonb, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { createdAt, ts, updatedAt } from "../schema/_common";

/**
 * The simulated cluster of local mode (`shared/cluster/src/simulated`): what a
 * Kubernetes API server would hold for our objects, kept in the database so it
 * survives restarts of `npm start`. No foreign keys: like a real cluster, it
 * knows nothing about our users or instances, only names and labels.
 */
export const simulatedNamespaces = pgTable("simulated_namespaces", {
  name: text("name").primaryKey(),
  customerId: uuid("customer_id").notNull(),
  podSecurity: text("pod_security").notNull(),
  /** The plans the quota was derived from (NamespaceSpec.plans). */
  plans: jsonb("plans").notNull(),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** One instance's objects (Deployment, Service, Ingress, Secret, PVC) as one row. */
export const simulatedWorkloads = pgTable(
  "simulated_workloads",
  {
    instanceId: uuid("instance_id").primaryKey(),
    customerId: uuid("customer_id").notNull(),
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
    host: text("host").notNull(),
    /** The AppSpec last applied (generated secret values are never stored here). */
    app: jsonb("app").notNull(),
    replicas: integer("replicas").notNull(),
    /** Like a Deployment's metadata.generation: bumped by every change of the pod template. */
    generation: integer("generation").notNull().default(1),
    /** When the current rollout began (apply of a changed spec, resume, restart). */
    rolloutStartedAt: ts("rollout_started_at").notNull(),
    /** A failure injected from the dev route; wins over the catalog marker. */
    fault: text("fault"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("simulated_workloads_namespace_idx").on(t.namespace)],
);

/**
 * A custom domain routed to an instance (its Ingress rule and cert-manager
 * Certificate in a real cluster) as one row; the certificate is ready once
 * the simulated delay has passed since `requested_at`.
 */
export const simulatedDomains = pgTable(
  "simulated_domains",
  {
    instanceId: uuid("instance_id").notNull(),
    customerId: uuid("customer_id").notNull(),
    domain: text("domain").notNull(),
    /** When the certificate was requested (issuance is simulated from here). */
    requestedAt: ts("requested_at").notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.instanceId, t.domain] })],
);
