/**
 * The cluster port. The provisioner and the instances API drive customer
 * workloads through it; `kubernetes` (KUBECONFIG or in-cluster) and
 * `simulated` (local mode, objects kept in the database) implement it.
 *
 * Every write converges: calling a method twice with the same input leaves
 * the cluster as one call would, so replayed or reordered events are safe.
 */

/** Pod Security Standard a namespace enforces. */
export type PodSecurityLevel = "restricted" | "baseline";

/** Kubernetes quantities, as the catalog stores them ("250m", "512Mi", "5Gi"). */
export interface AppResources {
  cpu: string;
  memory: string;
  /** Size of the persistent volume; null/undefined when the app keeps no data. */
  storage?: string | null | undefined;
  /** Where the volume is mounted in the container; required with storage. */
  storageMountPath?: string | null | undefined;
  /**
   * Node-local scratch space the container may use (logs, caches, its
   * emptyDirs), as request and limit; default `DEFAULT_EPHEMERAL_STORAGE`.
   * Past it the kubelet evicts the pod instead of filling the node's disk.
   */
  ephemeralStorage?: string | null | undefined;
}

/** An HTTP check of the app; without one the driver checks that the port accepts TCP. */
export interface AppProbe {
  path: string;
  /** Seconds before the first check (default 0); the startup check then allows 5 minutes. */
  initialDelaySeconds?: number | undefined;
}

/** What the catalog says about an app: enough to build its workload. */
export interface AppSpec {
  /** Catalog slug, e.g. "gitea"; a label on every object, never part of a name. */
  slug: string;
  image: string;
  imageTag: string;
  /**
   * "sha256:<64 hex>": the image is pulled by digest (`image:tag@digest`), so
   * a tag moved upstream never changes what runs. Unset: by tag alone.
   */
  imageDigest?: string | null | undefined;
  /**
   * The app writes only to its volume and `writablePaths`: the root
   * filesystem is mounted read-only, and /tmp plus each writable path get an
   * emptyDir. Default false (most images write somewhere under /).
   */
  readOnlyRootFilesystem?: boolean | undefined;
  /** Directories that stay writable (emptyDirs) under a read-only root. */
  writablePaths?: readonly string[] | undefined;
  /** The container port the app listens on (HTTP). */
  port: number;
  /** Plain configuration, from the catalog's default_env. */
  env?: Record<string, string> | undefined;
  resources: AppResources;
  probe?: AppProbe | null | undefined;
  /**
   * "baseline" for images that cannot run under "restricted" (for example
   * they need root); default "restricted".
   */
  podSecurity?: PodSecurityLevel | undefined;
  /**
   * UID to run as; null when the image must start as root (then
   * podSecurity must be "baseline"). Default 1000 with runAsNonRoot.
   */
  runAsUser?: number | null | undefined;
  /**
   * Names of environment variables that get a random secret value,
   * generated once when the instance is first applied, kept in the
   * instance's Secret, never logged and never put in events.
   */
  generatedSecrets?: readonly string[] | undefined;
}

/** Identifies one instance; every object name derives from these two ids. */
export interface InstanceRef {
  /** Our user id of the owner (uuid). */
  customerId: string;
  /** Our instance id (uuid). */
  instanceId: string;
}

export interface NamespaceSpec {
  customerId: string;
  /**
   * The apps of the customer's live subscriptions: the ResourceQuota is
   * their sum, the LimitRange's maximum the largest of them.
   */
  plans: readonly AppResources[];
  /**
   * Sizes of volumes held beyond one per plan: while a restore moves an
   * instance to a new volume, both claims exist until the old one is gone.
   * The quota's claim count and storage make room for them.
   */
  extraVolumes?: readonly string[] | undefined;
  /** "baseline" when any of the customer's apps needs it; default "restricted". */
  podSecurity?: PodSecurityLevel | undefined;
}

export interface InstanceSpec extends InstanceRef {
  app: AppSpec;
  /**
   * Values for some of `app.generatedSecrets`, chosen by the caller (the
   * credentials handed to the customer); the others are generated. Used only
   * when the Secret is created; kept out of `app`, so out of its hash.
   */
  secretValues?: Readonly<Record<string, string>> | undefined;
  /** Suspended instances are applied with 0 replicas; volumes are kept. */
  suspended?: boolean | undefined;
  /**
   * Which volume the instance mounts (apps with storage): generation 0 (the
   * default) is the PVC named like the instance, later ones are suffixed
   * (`volumeName`). `dataSource` names the VolumeSnapshot a new claim is
   * created from (a restore); it is immutable once the claim exists.
   */
  volume?: VolumeSpec | undefined;
}

export interface VolumeSpec {
  generation: number;
  dataSource?: string | null | undefined;
}

export interface AppliedInstance {
  namespace: string;
  /** Name shared by the Deployment, Service, Ingress, Secret and PVC. */
  name: string;
  host: string;
  url: string;
}

export type InstancePhase = "starting" | "running" | "failed" | "suspended" | "missing";

export interface ClusterEvent {
  /** ISO 8601. */
  at: string;
  type: "Normal" | "Warning";
  /** Kubernetes' reason, e.g. "BackOff", "FailedCreate". */
  reason: string;
  /** The message in plain words where we know it, else Kubernetes' own. */
  message: string;
  /** "Pod/gitea-abc", "Deployment/gitea". */
  object: string;
}

export interface InstanceStatus extends InstanceRef {
  phase: InstancePhase;
  /**
   * Plain words a customer understands: "running", "starting",
   * "image could not be pulled", "volume pending", "quota exceeded",
   * "crash looping", "suspended", "not found in the cluster".
   */
  reason: string;
  replicas: { desired: number; ready: number };
  /**
   * `specHash` of the AppSpec the workload was last applied from; null when
   * it is missing or was applied before hashes were recorded.
   */
  specHash: string | null;
  /** Newest first; empty from listStatuses (events are read per instance). */
  events: ClusterEvent[];
  /**
   * True when a pod of the instance cannot start because the instance's
   * Secret is gone (deleted behind our back): `recreateSecret` repairs it.
   * Read from pod status, never from the Secret, which the provisioner may
   * not read. Absent otherwise.
   */
  secretMissing?: boolean | undefined;
}

/** The plain words of an instance whose pods wait for its deleted Secret. */
export const SECRET_MISSING_REASON = "the app's Secret is missing";

export interface ListStatusesOptions {
  /** Only this customer's instances. */
  customerId?: string | undefined;
  /** Instances per page (default 250). */
  limit?: number | undefined;
  /** Token from the previous page; absent for the first page. */
  continue?: string | null | undefined;
}

export interface StatusPage {
  items: InstanceStatus[];
  /** Token for the next page; null on the last page. */
  continue: string | null;
  /** API requests this page took (a page costs a fixed number, never one per instance). */
  apiCalls: number;
}

export interface LogOptions {
  tailLines?: number | undefined;
  sinceSeconds?: number | undefined;
}

export interface InstanceLogs {
  /** Pod the lines came from; null when no pod exists (suspended, not yet scheduled). */
  pod: string | null;
  lines: string[];
}

/**
 * Why a cluster call failed. `retryable` tells the caller (an event
 * consumer) whether a redelivery may succeed; drivers already retried
 * the transient ones a few times before throwing.
 */
export type ClusterErrorCode =
  | "forbidden" // 401/403: our credentials or RBAC are wrong; retrying won't help
  | "invalid" // 400/422, or admission refusing the object (Pod Security, quota): fix the object
  | "not_found"
  | "conflict" // 409 that persisted through retries
  | "unavailable" // 429/5xx/network errors that persisted through retries
  | "timeout";

export class ClusterError extends Error {
  override name = "ClusterError";
  readonly retryable: boolean;
  constructor(
    readonly code: ClusterErrorCode,
    message: string,
    options?: { cause?: unknown; status?: number | undefined },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = options?.status;
    this.retryable = code === "conflict" || code === "unavailable" || code === "timeout";
  }
  readonly status: number | undefined;
}

export const isClusterError = (error: unknown, code?: ClusterErrorCode): error is ClusterError =>
  error instanceof ClusterError && (code === undefined || error.code === code);

export interface ClusterPort {
  /** "kubernetes" or "simulated". */
  readonly name: string;
  /** Creates or updates the customer's hardened namespace (quota, limits, network policies, service account). */
  ensureNamespace(spec: NamespaceSpec): Promise<{ namespace: string }>;
  /** Creates or updates every object of the instance; the namespace must exist. */
  applyInstance(spec: InstanceSpec): Promise<AppliedInstance>;
  /** 0 suspends (volumes kept), 1 resumes. */
  scaleInstance(ref: InstanceRef, replicas: 0 | 1): Promise<void>;
  /**
   * Deletes the instance's objects, volume included; deletes the namespace
   * too when no other instance is left in it. Deleting what is gone is not an error.
   */
  deleteInstance(ref: InstanceRef): Promise<{ namespaceDeleted: boolean }>;
  /** Live status with recent events; phase "missing" when the cluster has no such instance. */
  readStatus(ref: InstanceRef): Promise<InstanceStatus>;
  /** One page of every managed instance's status, for the reconcile sweep. */
  listStatuses(options?: ListStatusesOptions): Promise<StatusPage>;
  /** Recent log lines of the instance's pod. */
  logs(ref: InstanceRef, options?: LogOptions): Promise<InstanceLogs>;
  /** Rollout restart: new pods, same configuration. */
  restart(ref: InstanceRef): Promise<{ restartedAt: string }>;
  /**
   * Sets some values of the instance's Secret (a rotated credential), the
   * others kept; the pods see them after a `restart`. Never reads the Secret.
   */
  setSecretValues(ref: InstanceRef, values: Readonly<Record<string, string>>): Promise<void>;
  /**
   * Creates the instance's Secret again after it was lost (its status said
   * `secretMissing`): `secretValues` as given, the other generated secrets
   * new random values. An existing Secret is kept as it is (`created:
   * false`), never read or overwritten. Only for that case: `applyInstance`
   * never re-creates the Secret of an existing workload, since every create
   * is charged by the quota admission even when the object exists.
   */
  recreateSecret(spec: InstanceSpec): Promise<{ created: boolean }>;
  /**
   * The backups preflight: instance volumes can be snapshotted only when a
   * VolumeSnapshotClass's driver is their StorageClass's provisioner.
   */
  snapshotSupport(): Promise<SnapshotSupport>;
  /** Creates a VolumeSnapshot of the instance's volume; an existing one is left as it is. */
  createSnapshot(spec: CreateSnapshotSpec): Promise<void>;
  /** Phase "missing" when there is no such snapshot. */
  readSnapshot(ref: SnapshotRef): Promise<SnapshotStatus>;
  /** Deleting what is gone is not an error. */
  deleteSnapshot(ref: SnapshotRef): Promise<void>;
  /**
   * Deletes one volume generation's PVC (after a restore switched away from it,
   * or undoing one). `gone` is false while the claim still exists, being deleted
   * (a pod still mounts it): call again later; it still counts in the quota.
   */
  deleteVolume(ref: InstanceRef, generation: number): Promise<{ gone: boolean }>;
  /**
   * Deletes the customer's namespace when it holds neither an instance nor a
   * snapshot: `deleteInstance` keeps it while snapshots are retained, since
   * deleting a namespace deletes its VolumeSnapshots.
   */
  deleteNamespaceIfEmpty(customerId: string): Promise<{ namespaceDeleted: boolean }>;
}

/** Whether the instance volumes' storage can be snapshotted (the backups preflight). */
export interface SnapshotSupport {
  supported: boolean;
  /** The StorageClass instance volumes get (K8S_STORAGE_CLASS or the cluster's default). */
  storageClass: string | null;
  /** Its provisioner (CSI driver), e.g. "driver.longhorn.io", "rancher.io/local-path". */
  provisioner: string | null;
  /** The VolumeSnapshotClass whose driver is that provisioner; null when none. */
  snapshotClass: string | null;
  /** Plain words for the customer and the operator. */
  reason: string;
}

/** One VolumeSnapshot of an instance's volume, in the customer's namespace. */
export interface SnapshotRef extends InstanceRef {
  /** Object name, e.g. "b-<backup id>". */
  name: string;
}

export interface CreateSnapshotSpec extends SnapshotRef {
  /** Generation of the instance's volume to copy (see `VolumeSpec`). */
  volumeGeneration: number;
  /** VolumeSnapshotClass to use; null lets the cluster pick its default. */
  snapshotClass: string | null;
}

export type SnapshotPhase = "pending" | "ready" | "failed" | "missing";

export interface SnapshotStatus {
  name: string;
  phase: SnapshotPhase;
  /** restoreSize in bytes once known. */
  sizeBytes: number | null;
  /** Plain words: "ready", "being taken", the driver's error. */
  reason: string;
}

/**
 * Where a custom domain's certificate stands: "issuing" (requested, not
 * signed yet), "ready", "failed" (cert-manager gave up; `reason` says why),
 * "none" (no issuer configured: the domain is routed without TLS of its own),
 * "missing" (not in the cluster: apply the domains again).
 */
export type CertificateState = "issuing" | "ready" | "failed" | "none" | "missing";

/** A custom domain of an instance as the cluster holds it. */
export interface DomainRoute {
  /** Lowercase ASCII (punycode), no trailing dot. */
  domain: string;
  /** The instance's domains Ingress has a rule for it. */
  routed: boolean;
  /** The Ingress serves it over TLS with its own certificate (only once that is ready). */
  tls: boolean;
  certificate: CertificateState;
  /** Plain words: "certificate issued", "waiting for the certificate authority", cert-manager's message when it failed. */
  reason: string;
}

/**
 * Custom domains: appended to the port as a separate interface so drivers
 * grow them without touching the instance methods.
 */
export interface ClusterDomains {
  /**
   * Makes the instance answer at exactly these custom domains: one Ingress
   * rule and (with a TLS issuer) one cert-manager Certificate per domain;
   * rules, certificates and TLS secrets of domains left out are removed. An
   * empty list removes them all. A domain gets its TLS section only once its
   * certificate is ready, so the Ingress never names a secret that does not exist.
   */
  setInstanceDomains(ref: InstanceRef, domains: readonly string[]): Promise<DomainRoute[]>;
  /** What the cluster holds for the instance's custom domains (empty when none). */
  readDomainStatus(ref: InstanceRef): Promise<DomainRoute[]>;
}

export interface ClusterPort extends ClusterDomains {}
