import { bigint, index, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { createdAt } from "../schema/_common";

/**
 * The simulated cluster's PersistentVolumeClaims: one per volume generation
 * of an instance (`i-<id>`, `i-<id>-g<n>`), with the snapshot it was created
 * from, like a PVC's `dataSource`.
 */
export const simulatedVolumes = pgTable(
  "simulated_volumes",
  {
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
    instanceId: uuid("instance_id").notNull(),
    customerId: uuid("customer_id").notNull(),
    storage: text("storage").notNull(),
    /** VolumeSnapshot the claim was restored from; null for an empty volume. */
    dataSource: text("data_source"),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.namespace, t.name] }),
    index("simulated_volumes_instance_idx").on(t.instanceId),
  ],
);

/** The simulated cluster's VolumeSnapshots: ready `delayMs` after they were created. */
export const simulatedSnapshots = pgTable(
  "simulated_snapshots",
  {
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
    instanceId: uuid("instance_id").notNull(),
    customerId: uuid("customer_id").notNull(),
    /** The PVC it copies. */
    sourceVolume: text("source_volume").notNull(),
    /** restoreSize once ready: the volume's requested size. */
    sizeBytes: bigint("size_bytes", { mode: "number" }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.namespace, t.name] }),
    index("simulated_snapshots_instance_idx").on(t.instanceId),
  ],
);
