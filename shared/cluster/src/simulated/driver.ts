import {
  type Db,
  simulatedNamespaces,
  simulatedSnapshots,
  simulatedVolumes,
  simulatedWorkloads,
} from "@minispod/db";
import { and, asc, count, eq, gt } from "drizzle-orm";
import type { ClusterConfig } from "../config";
import { bytes } from "../manifests/quantities";
import { instanceObjects, namespaceName, specHash, volumeName } from "../names";
import {
  type AppliedInstance,
  type AppSpec,
  ClusterError,
  type ClusterPort,
  type InstanceLogs,
  type InstanceRef,
  type InstanceSpec,
  type InstanceStatus,
  type ListStatusesOptions,
  type LogOptions,
  type NamespaceSpec,
  type SnapshotStatus,
  type SnapshotSupport,
  type StatusPage,
} from "../port";
import { deleteSimulatedDomains, simulatedDomainMethods } from "./domains";
import { FAULT_ENV, isSimulatedFault, type SimulatedFault } from "./faults";
import { eventsOf, logsOf, verdictOf, type WorkloadState } from "./rollout";

export interface SimulatedClusterOptions {
  db: Db;
  config: ClusterConfig;
  /**
   * Length of each of a rollout's three steps (pull, start, ready), in ms
   * (K8S_SIMULATED_DELAY_MS). 0 makes an instance ready as soon as it is applied.
   */
  delayMs: number;
  now?: (() => Date) | undefined;
  /**
   * Whether the simulated storage can take snapshots (K8S_SIMULATED_SNAPSHOTS,
   * default true); false plays K3s's local-path, which the backups preflight refuses.
   */
  snapshots?: boolean | undefined;
}

/** What the simulated cluster's storage looks like to the backups preflight. */
export const SIMULATED_STORAGE = {
  withSnapshots: {
    supported: true,
    storageClass: "simulated-csi",
    provisioner: "csi.simulated.minispod.dev",
    snapshotClass: "simulated-csi",
    reason: "snapshots supported",
  },
  withoutSnapshots: {
    supported: false,
    storageClass: "local-path",
    provisioner: "rancher.io/local-path",
    snapshotClass: null,
    reason:
      "the storage class local-path (rancher.io/local-path) cannot take snapshots: no VolumeSnapshotClass has its driver",
  },
} as const satisfies Record<string, SnapshotSupport>;

/** The simulated driver plus what only a simulation can do. */
export interface SimulatedCluster extends ClusterPort {
  /**
   * Makes the instance fail this way from now on (null: heal it); starts a
   * new rollout, like editing a Deployment would. Wins over the catalog marker.
   */
  setFault(ref: InstanceRef, fault: SimulatedFault | null): Promise<void>;
}

type Workload = typeof simulatedWorkloads.$inferSelect;

const DEFAULT_PAGE = 250;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** JSON with sorted keys, so a spec read back from jsonb compares equal to the one given. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** The spec as stored: undefined fields dropped, so replays compare equal. */
const storedApp = (app: AppSpec): AppSpec => JSON.parse(JSON.stringify(app)) as AppSpec;

function stateOf(row: Workload): WorkloadState {
  const app = row.app as AppSpec;
  const marker = app.env?.[FAULT_ENV];
  const fault = isSimulatedFault(row.fault)
    ? row.fault
    : isSimulatedFault(marker) && marker !== "secret-missing"
      ? marker
      : null;
  return {
    name: row.name,
    image: `${app.image}:${app.imageTag}${app.imageDigest ? `@${app.imageDigest}` : ""}`,
    port: app.port,
    replicas: row.replicas,
    generation: row.generation,
    rolloutStartedAt: row.rolloutStartedAt,
    fault,
  };
}

const notFound = (ref: InstanceRef) =>
  new ClusterError("not_found", `instance ${ref.instanceId} is not in the simulated cluster`, {
    status: 404,
  });

/**
 * The cluster port for local mode: no Kubernetes, the objects are rows in
 * the database (simulated_namespaces, simulated_workloads), and status is
 * computed from when the current rollout began, so an instance walks
 * starting -> running (or into its injected failure) in `delayMs` steps
 * without any timer running. Writes converge like server-side apply: an
 * unchanged spec applied again writes nothing.
 *
 * @example
 * const cluster = createSimulatedCluster({ db, config, delayMs: 1000 });
 * await cluster.ensureNamespace({ customerId, plans: [app.resources] });
 * await cluster.applyInstance({ customerId, instanceId, app });
 * (await cluster.readStatus({ customerId, instanceId })).phase; // "starting", then "running"
 */
export function createSimulatedCluster(options: SimulatedClusterOptions): SimulatedCluster {
  const { db, config, delayMs } = options;
  const now = options.now ?? (() => new Date());

  const load = async (ref: InstanceRef) => {
    const [row] = await db
      .select()
      .from(simulatedWorkloads)
      .where(eq(simulatedWorkloads.instanceId, ref.instanceId));
    // Names carry the customer: another customer's id finds nothing, as in a real cluster.
    return row && row.customerId === ref.customerId ? row : undefined;
  };

  const statusOf = (row: Workload, withEvents: boolean): InstanceStatus => {
    const state = stateOf(row);
    const at = now();
    const verdict = verdictOf(state, at, delayMs);
    return {
      customerId: row.customerId,
      instanceId: row.instanceId,
      phase: verdict.phase,
      reason: verdict.reason,
      replicas: { desired: row.replicas, ready: verdict.ready },
      specHash: specHash(row.app as AppSpec),
      events: withEvents ? eventsOf(state, at, delayMs) : [],
      // As the kubernetes driver reads it from the pod: once the pod tried to start.
      ...(state.fault === "secret-missing" && verdict.phase === "failed"
        ? { secretMissing: true }
        : {}),
    };
  };

  const startRollout = async (ref: InstanceRef, set: Partial<Workload>) => {
    const row = await load(ref);
    if (!row) throw notFound(ref);
    await db
      .update(simulatedWorkloads)
      .set({ ...set, rolloutStartedAt: now() })
      .where(eq(simulatedWorkloads.instanceId, ref.instanceId));
    return row;
  };

  return {
    name: "simulated",
    ...simulatedDomainMethods({ db, delayMs, now }),

    async ensureNamespace(spec: NamespaceSpec) {
      const name = namespaceName(config, spec.customerId);
      const values = {
        name,
        customerId: spec.customerId,
        podSecurity: spec.podSecurity ?? "restricted",
        plans: JSON.parse(JSON.stringify(spec.plans)) as unknown,
      };
      await db
        .insert(simulatedNamespaces)
        .values(values)
        .onConflictDoUpdate({
          target: simulatedNamespaces.name,
          set: { podSecurity: values.podSecurity, plans: values.plans },
        });
      return { namespace: name };
    },

    async applyInstance(spec: InstanceSpec): Promise<AppliedInstance> {
      const objects = instanceObjects(config, spec);
      const app = storedApp(spec.app);
      const replicas = spec.suspended ? 0 : 1;
      await db.transaction(async (tx) => {
        const [namespace] = await tx
          .select({ name: simulatedNamespaces.name })
          .from(simulatedNamespaces)
          .where(eq(simulatedNamespaces.name, objects.namespace));
        if (!namespace) {
          throw new ClusterError("not_found", `namespace ${objects.namespace} does not exist`, {
            status: 404,
          });
        }
        // Create-or-update without a race: two applies of a new instance at once
        // both land here, one inserts and the other updates (or finds nothing to do).
        const created = await tx
          .insert(simulatedWorkloads)
          .values({
            instanceId: spec.instanceId,
            customerId: spec.customerId,
            namespace: objects.namespace,
            name: objects.name,
            host: objects.host,
            app,
            replicas,
            generation: 1,
            rolloutStartedAt: now(),
          })
          .onConflictDoNothing()
          .returning({ id: simulatedWorkloads.instanceId });
        const storage = spec.app.resources.storage;
        if (storage) {
          // Like the PVC: created once per generation, its dataSource fixed at creation.
          await tx
            .insert(simulatedVolumes)
            .values({
              namespace: objects.namespace,
              name: volumeName(spec.instanceId, spec.volume?.generation),
              instanceId: spec.instanceId,
              customerId: spec.customerId,
              storage,
              dataSource: spec.volume?.dataSource ?? null,
              createdAt: now(),
            })
            .onConflictDoNothing();
        }
        if (created.length > 0) return;
        const [row] = await tx
          .select()
          .from(simulatedWorkloads)
          .where(eq(simulatedWorkloads.instanceId, spec.instanceId))
          .for("update");
        if (!row) return;
        const templateChanged = canonical(row.app) !== canonical(app);
        // Like server-side apply: nothing changed, nothing written, no new rollout.
        if (!templateChanged && row.replicas === replicas) return;
        const startsPods = templateChanged || row.replicas !== replicas;
        await tx
          .update(simulatedWorkloads)
          .set({
            app,
            replicas,
            generation: templateChanged ? row.generation + 1 : row.generation,
            ...(startsPods ? { rolloutStartedAt: now() } : {}),
          })
          .where(eq(simulatedWorkloads.instanceId, spec.instanceId));
      });
      return {
        namespace: objects.namespace,
        name: objects.name,
        host: objects.host,
        url: objects.url,
      };
    },

    async scaleInstance(ref, replicas) {
      const row = await load(ref);
      if (!row) throw notFound(ref);
      if (row.replicas === replicas) return;
      await startRollout(ref, { replicas });
    },

    async deleteInstance(ref) {
      const namespace = namespaceName(config, ref.customerId);
      await deleteSimulatedDomains(db, ref);
      return db.transaction(async (tx) => {
        await tx
          .delete(simulatedWorkloads)
          .where(
            and(
              eq(simulatedWorkloads.instanceId, ref.instanceId),
              eq(simulatedWorkloads.customerId, ref.customerId),
            ),
          );
        await tx
          .delete(simulatedVolumes)
          .where(
            and(
              eq(simulatedVolumes.instanceId, ref.instanceId),
              eq(simulatedVolumes.customerId, ref.customerId),
            ),
          );
        const [left] = await tx
          .select({ n: count() })
          .from(simulatedWorkloads)
          .where(eq(simulatedWorkloads.namespace, namespace));
        if ((left?.n ?? 0) > 0) return { namespaceDeleted: false };
        // Deleting the namespace would take its snapshots: a retained backup keeps it.
        const [kept] = await tx
          .select({ n: count() })
          .from(simulatedSnapshots)
          .where(eq(simulatedSnapshots.namespace, namespace));
        if ((kept?.n ?? 0) > 0) return { namespaceDeleted: false };
        const gone = await tx
          .delete(simulatedNamespaces)
          .where(eq(simulatedNamespaces.name, namespace))
          .returning({ name: simulatedNamespaces.name });
        return { namespaceDeleted: gone.length > 0 };
      });
    },

    async readStatus(ref) {
      const row = await load(ref);
      if (!row) {
        return {
          ...ref,
          phase: "missing",
          reason: "not found in the cluster",
          replicas: { desired: 0, ready: 0 },
          specHash: null,
          events: [],
        };
      }
      return statusOf(row, true);
    },

    async listStatuses(list: ListStatusesOptions = {}): Promise<StatusPage> {
      const limit = list.limit ?? DEFAULT_PAGE;
      if (list.continue && !UUID.test(list.continue)) {
        throw new ClusterError("invalid", "the continue token is not one this cluster gave out", {
          status: 400,
        });
      }
      // One query per page, like one LIST with a label selector and `limit`.
      const rows = await db
        .select()
        .from(simulatedWorkloads)
        .where(
          and(
            list.customerId ? eq(simulatedWorkloads.customerId, list.customerId) : undefined,
            list.continue ? gt(simulatedWorkloads.instanceId, list.continue) : undefined,
          ),
        )
        .orderBy(asc(simulatedWorkloads.instanceId))
        .limit(limit + 1);
      const items = rows.slice(0, limit);
      return {
        items: items.map((row) => statusOf(row, false)),
        continue: rows.length > limit ? (items.at(-1)?.instanceId ?? null) : null,
        apiCalls: 1,
      };
    },

    async logs(ref, logOptions?: LogOptions): Promise<InstanceLogs> {
      const row = await load(ref);
      if (!row) throw notFound(ref);
      return logsOf(stateOf(row), now(), delayMs, logOptions);
    },

    async restart(ref) {
      const row = await load(ref);
      if (!row) throw notFound(ref);
      const at = now();
      await startRollout(ref, { generation: row.generation + 1 });
      return { restartedAt: at.toISOString() };
    },

    async setSecretValues(ref) {
      // Secret values are never kept here (nor in a real cluster's readable state):
      // the workload only has to exist, as the Secret lives and dies with it.
      if (!(await load(ref))) throw notFound(ref);
    },

    async recreateSecret(spec) {
      const row = await load(spec);
      if (!row) throw notFound(spec);
      // Values are not kept here (see setSecretValues); only whether the Secret exists,
      // which is the "secret-missing" fault. Re-created, the kubelet's next try starts
      // the container: a new rollout from now.
      if (row.fault !== "secret-missing") return { created: false };
      const healed = await db
        .update(simulatedWorkloads)
        .set({ fault: null, rolloutStartedAt: now() })
        .where(
          and(
            eq(simulatedWorkloads.instanceId, spec.instanceId),
            eq(simulatedWorkloads.fault, "secret-missing"),
          ),
        )
        .returning({ id: simulatedWorkloads.instanceId });
      return { created: healed.length > 0 };
    },

    async snapshotSupport() {
      return options.snapshots === false
        ? SIMULATED_STORAGE.withoutSnapshots
        : SIMULATED_STORAGE.withSnapshots;
    },

    async createSnapshot(spec) {
      const namespace = namespaceName(config, spec.customerId);
      const source = volumeName(spec.instanceId, spec.volumeGeneration);
      const [volume] = await db
        .select()
        .from(simulatedVolumes)
        .where(and(eq(simulatedVolumes.namespace, namespace), eq(simulatedVolumes.name, source)));
      if (!volume) {
        throw new ClusterError("invalid", `volume ${namespace}/${source} does not exist`, {
          status: 422,
        });
      }
      await db
        .insert(simulatedSnapshots)
        .values({
          namespace,
          name: spec.name,
          instanceId: spec.instanceId,
          customerId: spec.customerId,
          sourceVolume: source,
          sizeBytes: bytes(volume.storage),
          createdAt: now(),
        })
        .onConflictDoNothing();
    },

    async readSnapshot(ref): Promise<SnapshotStatus> {
      const namespace = namespaceName(config, ref.customerId);
      const [row] = await db
        .select()
        .from(simulatedSnapshots)
        .where(
          and(eq(simulatedSnapshots.namespace, namespace), eq(simulatedSnapshots.name, ref.name)),
        );
      if (!row) {
        return {
          name: ref.name,
          phase: "missing",
          sizeBytes: null,
          reason: "not found in the cluster",
        };
      }
      // Ready after the three steps a rollout takes, like the CSI driver cutting it.
      const ready = now().getTime() >= row.createdAt.getTime() + 3 * delayMs;
      return ready
        ? { name: ref.name, phase: "ready", sizeBytes: row.sizeBytes, reason: "ready" }
        : { name: ref.name, phase: "pending", sizeBytes: null, reason: "being taken" };
    },

    async deleteSnapshot(ref) {
      await db
        .delete(simulatedSnapshots)
        .where(
          and(
            eq(simulatedSnapshots.namespace, namespaceName(config, ref.customerId)),
            eq(simulatedSnapshots.name, ref.name),
          ),
        );
    },

    async deleteVolume(ref, generation) {
      await db
        .delete(simulatedVolumes)
        .where(
          and(
            eq(simulatedVolumes.namespace, namespaceName(config, ref.customerId)),
            eq(simulatedVolumes.name, volumeName(ref.instanceId, generation)),
          ),
        );
      return { gone: true };
    },

    async deleteNamespaceIfEmpty(customerId) {
      const namespace = namespaceName(config, customerId);
      return db.transaction(async (tx) => {
        const [left] = await tx
          .select({ n: count() })
          .from(simulatedWorkloads)
          .where(eq(simulatedWorkloads.namespace, namespace));
        const [kept] = await tx
          .select({ n: count() })
          .from(simulatedSnapshots)
          .where(eq(simulatedSnapshots.namespace, namespace));
        if ((left?.n ?? 0) > 0 || (kept?.n ?? 0) > 0) return { namespaceDeleted: false };
        const gone = await tx
          .delete(simulatedNamespaces)
          .where(eq(simulatedNamespaces.name, namespace))
          .returning({ name: simulatedNamespaces.name });
        return { namespaceDeleted: gone.length > 0 };
      });
    },

    async setFault(ref, fault) {
      const row = await load(ref);
      if (!row) throw notFound(ref);
      await startRollout(ref, { fault, generation: row.generation + 1 });
    },
  };
}
