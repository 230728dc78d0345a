import { sql } from "drizzle-orm";
import {
  boolean,
  char,
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { createdAt, id, ts, updatedAt } from "./_common";

/**
 * How the provisioner must run the app's container, where the image needs
 * it (all optional; the defaults are the hardened ones).
 */
export interface CatalogWorkload {
  /** "baseline" for images that cannot run under the restricted Pod Security Standard. */
  podSecurity?: "restricted" | "baseline";
  /** UID to run as; null when the image must start as root (then podSecurity is "baseline"). */
  runAsUser?: number | null;
  /** Environment variables given a random value once, kept in the instance's Secret. */
  generatedSecrets?: string[];
  /** HTTP path of the app's health check; without it, a TCP check of the port. */
  probePath?: string;
  /**
   * The generated secrets the customer is handed (`GET /instances/:id/credentials`),
   * e.g. Vaultwarden's ADMIN_TOKEN; the others stay inside the cluster.
   */
  credentials?: CatalogCredential[];
  /** "sha256:<64 hex>" of the image: pulled by digest, so a moved tag changes nothing. */
  imageDigest?: string;
  /** The app writes only to its volume and `writablePaths`: run with a read-only root. */
  readOnlyRootFilesystem?: boolean;
  /** Directories kept writable (emptyDirs) under a read-only root; /tmp always is. */
  writablePaths?: string[];
  /** Scratch space (request = limit), a Kubernetes quantity; default 1Gi. */
  ephemeralStorage?: string;
  /**
   * Scheduled backups of the instance's volume (apps with storage): one every
   * period, the newest `keep` scheduled ones kept. Absent: on demand only.
   */
  backups?: CatalogBackupSchedule;
}

/** How often an app's volume is snapshotted, and how many scheduled copies stay. */
export interface CatalogBackupSchedule {
  schedule: "hourly" | "daily" | "weekly";
  keep: number;
}

/** One customer-facing credential: a generated secret and how to use it. */
export interface CatalogCredential {
  /** The environment variable, one of `generatedSecrets`. */
  secret: string;
  /** What it is, in the customer's words ("Admin token"). */
  label: string;
  /** The fixed user name that goes with it, when the app has one ("admin"). */
  username?: string;
  /** Where to use it, a path of the instance's URL ("/admin"). */
  path?: string;
}

export const billingPeriod = pgEnum("billing_period", ["MONTHLY"]);
export type BillingPeriod = (typeof billingPeriod.enumValues)[number];

export const serviceCatalog = pgTable(
  "service_catalog",
  {
    id: id(),
    slug: text("slug").notNull(),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    image: text("image").notNull(),
    imageTag: text("image_tag").notNull(),
    port: integer("port").notNull(),
    defaultEnv: jsonb("default_env").$type<Record<string, string>>().notNull().default({}),
    /** Kubernetes quantities, e.g. "500m", "512Mi", "5Gi". */
    cpu: text("cpu").notNull(),
    memory: text("memory").notNull(),
    storage: text("storage"),
    /** Mount path of the persistent volume inside the container, when storage is set. */
    storageMountPath: text("storage_mount_path"),
    priceMinor: integer("price_minor").notNull(),
    currency: char("currency", { length: 3 }).notNull(),
    period: billingPeriod("period").notNull().default("MONTHLY"),
    active: boolean("active").notNull().default(true),
    /** When false a customer may hold only one live subscription to this service. */
    allowMultiple: boolean("allow_multiple").notNull().default(false),
    /** The app may run as a Knative Service that scales to zero. */
    scaleToZero: boolean("scale_to_zero").notNull().default(false),
    /** How the container must run (see CatalogWorkload); set by the demo seed and the admin API. */
    workload: jsonb("workload").$type<CatalogWorkload>().notNull().default({}),
    retiredAt: ts("retired_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("service_catalog_slug_uq").on(t.slug),
    index("service_catalog_active_idx").on(t.active, t.createdAt),
    check("service_catalog_price_nonneg", sql`${t.priceMinor} >= 0`),
    check("service_catalog_port_range", sql`${t.port} between 1 and 65535`),
  ],
);
