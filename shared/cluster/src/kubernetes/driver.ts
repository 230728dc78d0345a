import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  createConfiguration,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  type RequestContext,
  type SecurityAuthentication,
  ServerConfiguration,
  StorageV1Api,
  type V1Deployment,
  type V1Pod,
  type V1Secret,
} from "@kubernetes/client-node";
import type { ClusterConfig } from "../config";
import {
  ALLOW_INTERNET,
  deploymentManifest,
  ingressManifest,
  instanceManifests,
  namespaceManifests,
  pvcManifest,
  secretManifest,
  serviceManifest,
} from "../manifests";
import { FIELD_MANAGER, instanceObjects, labels, MANAGED_BY, namespaceName } from "../names";
import type {
  AppliedInstance,
  ClusterPort,
  InstanceLogs,
  InstanceRef,
  InstanceSpec,
  InstanceStatus,
  ListStatusesOptions,
  LogOptions,
  NamespaceSpec,
  StatusPage,
} from "../port";
import { ClusterError } from "../port";
import { kubernetesDomains } from "./domains";
import { defaultRetryPolicy, type RetryPolicy, withRetries } from "./retry";
import { snapshotMethods } from "./snapshots";
import { describeInstance } from "./status";

export interface KubernetesClusterOptions {
  config: ClusterConfig;
  /** Defaults to KUBECONFIG (or ~/.kube/config), else the in-cluster ServiceAccount. */
  kubeConfig?: KubeConfig | undefined;
  /** Longest wait for one HTTP request (default 10 s); a timed-out request counts as a failed try. */
  requestTimeoutMs?: number | undefined;
  retry?: RetryPolicy | undefined;
}

/** The kubernetes driver plus what only a real API server offers. */
export interface KubernetesCluster extends ClusterPort {
  /**
   * Server-side applies objects under our field manager; with dryRun the
   * server validates and admits them (quota, PodSecurity) but stores nothing.
   */
  applyObjects(
    objects: readonly KubernetesObject[],
    options?: { dryRun?: boolean },
  ): Promise<KubernetesObject[]>;
  /** Every HTTP request sent so far, retries included. */
  readonly requestCount: number;
}

/**
 * KUBECONFIG when set (a path, or several separated by ":"), else the
 * default locations, else the in-cluster ServiceAccount.
 */
export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else kc.loadFromDefault();
  return kc;
}

/** A merge patch of a Deployment: only the fields given change. */
const partialDeployment = (
  name: string,
  namespace: string,
  spec: object,
): KubernetesObject & { spec: object } => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace },
  spec,
});

/** Thrown into a request that outlived its timeout. */
export class RequestTimeoutError extends Error {
  override name = "TimeoutError";
}

/**
 * Like AbortSignal.timeout, but aborts with a plain Error: client-node
 * rewrites the message of errors from its discovery requests, which throws
 * on a DOMException (read-only message) and hides the timeout.
 */
function timeoutSignal(ms: number): AbortSignal {
  const controller = new AbortController();
  setTimeout(
    () => controller.abort(new RequestTimeoutError(`no answer within ${ms} ms`)),
    ms,
  ).unref();
  return controller.signal;
}

const RESTARTED_AT = "kubectl.kubernetes.io/restartedAt";
const DEFAULT_PAGE = 250;

/**
 * The cluster port on a real Kubernetes API server.
 *
 * @example
 * const cluster = createKubernetesCluster({ config, kubeConfig: loadKubeConfig(env.KUBECONFIG) });
 * await cluster.ensureNamespace({ customerId, plans: [app.resources] });
 * const { url } = await cluster.applyInstance({ customerId, instanceId, app });
 */
export function createKubernetesCluster(options: KubernetesClusterOptions): KubernetesCluster {
  const { config } = options;
  const kc = options.kubeConfig ?? loadKubeConfig();
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new ClusterError("invalid", "the kubeconfig names no cluster");
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const retry = options.retry ?? defaultRetryPolicy;
  let requestCount = 0;
  // client-node builds a new connection pool (undici Agent) for every request,
  // so each one paid a TLS handshake. Credentials are still applied per request
  // (tokens rotate); the pool, whose TLS settings never change, is kept.
  let pool: ReturnType<RequestContext["getDispatcher"]>;
  const auth: SecurityAuthentication = {
    getName: () => "kubeconfig with a shared connection pool",
    applySecurityAuthentication: async (context) => {
      await kc.applySecurityAuthentication(context);
      const fresh = context.getDispatcher();
      if (!fresh) return;
      if (pool) context.setDispatcher(pool);
      else pool = fresh;
    },
  };
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(server, {}),
    authMethods: { default: auth },
    promiseMiddleware: [
      {
        pre: async (context) => {
          requestCount++;
          context.setSignal(timeoutSignal(timeoutMs));
          return context;
        },
        post: async (response) => response,
      },
    ],
  });
  const objects = new KubernetesObjectApi(configuration);
  const apps = new AppsV1Api(configuration);
  const core = new CoreV1Api(configuration);
  const custom = new CustomObjectsApi(configuration);
  const storage = new StorageV1Api(configuration);

  const call = <T>(what: string, fn: () => Promise<T>, counter?: { calls: number }) =>
    withRetries(
      what,
      () => {
        if (counter) counter.calls++;
        return fn();
      },
      retry,
    );

  const describe = (o: KubernetesObject) =>
    `${o.kind} ${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;

  const apply = (object: KubernetesObject, dryRun = false) =>
    call(`apply ${describe(object)}`, () =>
      objects.patch(
        object,
        undefined,
        dryRun ? "All" : undefined,
        FIELD_MANAGER,
        true,
        PatchStrategy.ServerSideApply,
      ),
    );

  /** A 404 on read or delete is an answer, not a failure. */
  const orNull = async <T>(promise: Promise<T>): Promise<T | null> => {
    try {
      return await promise;
    } catch (error) {
      if (error instanceof ClusterError && error.code === "not_found") return null;
      throw error;
    }
  };

  const readDeployment = (ref: InstanceRef) => {
    const { namespace, name } = instanceObjects(config, ref);
    return orNull(
      call(`read Deployment ${namespace}/${name}`, () =>
        apps.readNamespacedDeployment({ name, namespace }),
      ),
    );
  };

  const instancePods = async (ref: InstanceRef): Promise<V1Pod[]> => {
    const namespace = namespaceName(config, ref.customerId);
    const list = await call(`list pods of ${ref.instanceId}`, () =>
      core.listNamespacedPod({ namespace, labelSelector: `${labels.instance}=${ref.instanceId}` }),
    );
    return list.items;
  };

  const snapshots = snapshotMethods({
    config,
    apps,
    core,
    custom,
    storage,
    call: (what, fn) => call(what, fn),
    orNull,
    apply: (object) => apply(object),
  });

  const refOf = (d: V1Deployment): InstanceRef | null => {
    const l = d.metadata?.labels ?? {};
    const customerId = l[labels.customer];
    const instanceId = l[labels.instance];
    return customerId && instanceId ? { customerId, instanceId } : null;
  };

  /** Creates a Secret; false when it exists already (its values are kept, and not read). */
  const createSecret = async (secret: V1Secret): Promise<boolean> => {
    const { namespace, name } = secret.metadata as { namespace: string; name: string };
    let created = true;
    await call(`create Secret ${namespace}/${name}`, async () => {
      try {
        await core.createNamespacedSecret({ namespace, body: secret, fieldManager: FIELD_MANAGER });
      } catch (error) {
        if (error instanceof ApiException && error.code === 409) {
          created = false; // already there: keep its values
          return;
        }
        throw error;
      }
    });
    return created;
  };

  const domains = kubernetesDomains({ config, objects, call, apply: (o) => apply(o), orNull });

  return {
    name: "kubernetes",
    ...domains,
    get requestCount() {
      return requestCount;
    },

    async applyObjects(list, opts) {
      return Promise.all(list.map((o) => apply(o, opts?.dryRun ?? false)));
    },

    async ensureNamespace(spec: NamespaceSpec) {
      const { namespace, objects: inside } = namespaceManifests(config, spec);
      await apply(namespace);
      await Promise.all(inside.map((o) => apply(o)));
      const name = namespace.metadata?.name as string;
      if (config.egress === "none") {
        // Applying a smaller set does not remove what an earlier setting created.
        const open: KubernetesObject = {
          apiVersion: "networking.k8s.io/v1",
          kind: "NetworkPolicy",
          metadata: { name: ALLOW_INTERNET, namespace: name },
        };
        await orNull(call(`delete ${describe(open)}`, () => objects.delete(open)));
      }
      return { namespace: name };
    },

    async applyInstance(spec: InstanceSpec): Promise<AppliedInstance> {
      const names = instanceObjects(config, spec);
      // Created once, never re-applied: applying would generate new passwords.
      const secret = secretManifest(config, spec);
      // A replay must not even try to create it again: the quota admission charges every
      // create, even of an object that exists, until the quota controller recounts, so a
      // burst of replayed events failed with "exceeded quota: secrets". The Deployment is
      // applied after the Secret, so when it exists the Secret does too.
      // (A Secret deleted later behind our back is therefore not re-created here: the
      // sweep sees the pods waiting for it and calls recreateSecret.)
      const created = (await readDeployment(spec)) !== null;
      if (!created) await createSecret(secret);
      await Promise.all(instanceManifests(config, spec).map((o) => apply(o)));
      return names;
    },

    async recreateSecret(spec: InstanceSpec) {
      // A create, not an apply or a patch: it never overwrites values that exist (a
      // 409 keeps them) and never answers with a stored Secret, so the provisioner
      // still needs no read access to Secrets to repair a lost one.
      return { created: await createSecret(secretManifest(config, spec)) };
    },

    async scaleInstance(ref, replicas) {
      const { namespace, name } = instanceObjects(config, ref);
      await call(`scale Deployment ${namespace}/${name}`, () =>
        objects.patch(
          partialDeployment(name, namespace, { replicas }),
          undefined,
          undefined,
          FIELD_MANAGER,
          undefined,
          PatchStrategy.MergePatch,
        ),
      );
    },

    async deleteInstance(ref) {
      const { namespace, name } = instanceObjects(config, ref);
      const meta = { name, namespace };
      const kinds: KubernetesObject[] = [
        { apiVersion: "apps/v1", kind: "Deployment", metadata: meta },
        { apiVersion: "v1", kind: "Service", metadata: meta },
        { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: meta },
        { apiVersion: "v1", kind: "Secret", metadata: meta },
        // The certificate cert-manager issued for the Ingress outlives it otherwise.
        { apiVersion: "v1", kind: "Secret", metadata: { name: `${name}-tls`, namespace } },
      ];
      // Custom domains first: their Ingress, Certificates and certificate Secrets.
      await domains.setInstanceDomains(ref, []);
      // Every volume generation (a restore leaves `i-<id>-g<n>`), found by label.
      const claims = await orNull(
        call(`list PersistentVolumeClaims of ${ref.instanceId}`, () =>
          core.listNamespacedPersistentVolumeClaim({
            namespace,
            labelSelector: `${labels.instance}=${ref.instanceId}`,
          }),
        ),
      );
      const volumes: KubernetesObject[] = [
        { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: meta },
        ...(claims?.items ?? [])
          .filter((c) => c.metadata?.name && c.metadata.name !== name)
          .map((c) => ({
            apiVersion: "v1",
            kind: "PersistentVolumeClaim",
            metadata: { name: c.metadata?.name as string, namespace },
          })),
      ];
      await Promise.all(
        [...kinds, ...volumes].map((o) =>
          orNull(
            call(`delete ${describe(o)}`, () =>
              objects.delete(o, undefined, undefined, undefined, undefined, "Background"),
            ),
          ),
        ),
      );
      const left = await orNull(
        call(`list Deployments in ${namespace}`, () =>
          apps.listNamespacedDeployment({
            namespace,
            labelSelector: `${labels.managedBy}=${MANAGED_BY}`,
            limit: 1,
          }),
        ),
      );
      if (left === null || left.items.length > 0) return { namespaceDeleted: false };
      // Deleting the namespace would delete its VolumeSnapshots: a retained backup keeps it.
      if (await snapshots.hasSnapshots(namespace)) return { namespaceDeleted: false };
      const gone = await orNull(
        call(`delete Namespace ${namespace}`, () =>
          core.deleteNamespace({ name: namespace, propagationPolicy: "Background" }),
        ),
      );
      return { namespaceDeleted: gone !== null };
    },

    snapshotSupport: snapshots.snapshotSupport,
    createSnapshot: snapshots.createSnapshot,
    readSnapshot: snapshots.readSnapshot,
    deleteSnapshot: snapshots.deleteSnapshot,
    deleteVolume: snapshots.deleteVolume,
    deleteNamespaceIfEmpty: snapshots.deleteNamespaceIfEmpty,

    async readStatus(ref): Promise<InstanceStatus> {
      const { namespace, name } = instanceObjects(config, ref);
      const [deployment, pods, events] = await Promise.all([
        readDeployment(ref),
        orNull(instancePods(ref)),
        orNull(
          call(`list events in ${namespace}`, () =>
            core.listNamespacedEvent({ namespace, limit: 500 }),
          ),
        ),
      ]);
      // Events of the Deployment, its ReplicaSets, pods and volume all start with the instance's name.
      const own = (events?.items ?? []).filter((e) => e.involvedObject?.name?.startsWith(name));
      return describeInstance(ref, deployment, pods ?? [], own.slice(-50));
    },

    async listStatuses(opts: ListStatusesOptions = {}): Promise<StatusPage> {
      const counter = { calls: 0 };
      const labelSelector = [
        `${labels.managedBy}=${MANAGED_BY}`,
        ...(opts.customerId ? [`${labels.customer}=${opts.customerId}`] : []),
      ].join(",");
      const page = {
        labelSelector,
        limit: opts.limit ?? DEFAULT_PAGE,
        ...(opts.continue ? { _continue: opts.continue } : {}),
      };
      const list = await call(
        "list Deployments",
        () =>
          opts.customerId
            ? apps.listNamespacedDeployment({
                namespace: namespaceName(config, opts.customerId),
                ...page,
              })
            : apps.listDeploymentForAllNamespaces(page),
        counter,
      );
      const deployments = list.items.flatMap((d) => {
        const ref = refOf(d);
        return ref ? [{ ref, d }] : [];
      });
      // Pods only for instances that are not plainly running: one request per page.
      // A rollout still under way counts too (more pods than available ones: a surge
      // pod stuck while the old one serves, e.g. waiting for a deleted Secret), so the
      // sweep can see why; a settled page still costs one request.
      const unsettled = deployments.filter(
        ({ d }) =>
          (d.spec?.replicas ?? 1) > 0 &&
          ((d.status?.availableReplicas ?? 0) < (d.spec?.replicas ?? 1) ||
            (d.status?.replicas ?? 0) > (d.status?.availableReplicas ?? 0)),
      );
      const podsByInstance = new Map<string, V1Pod[]>();
      if (unsettled.length > 0) {
        const ids = unsettled.map(({ ref }) => ref.instanceId).join(",");
        const pods = await call(
          "list pods of unsettled instances",
          () => core.listPodForAllNamespaces({ labelSelector: `${labels.instance} in (${ids})` }),
          counter,
        );
        for (const pod of pods.items) {
          const id = pod.metadata?.labels?.[labels.instance];
          if (id) podsByInstance.set(id, [...(podsByInstance.get(id) ?? []), pod]);
        }
      }
      return {
        items: deployments.map(({ ref, d }) =>
          describeInstance(ref, d, podsByInstance.get(ref.instanceId) ?? []),
        ),
        continue: list.metadata?._continue || null,
        apiCalls: counter.calls,
      };
    },

    async logs(ref, opts: LogOptions = {}): Promise<InstanceLogs> {
      const { namespace } = instanceObjects(config, ref);
      const pods = (await orNull(instancePods(ref))) ?? [];
      const pod = pods
        .filter((p) => p.status?.phase === "Running" || p.status?.phase === "Failed")
        .sort((a, b) =>
          (a.metadata?.creationTimestamp ?? 0) < (b.metadata?.creationTimestamp ?? 0) ? 1 : -1,
        )[0];
      const podName = pod?.metadata?.name;
      if (!podName) return { pod: null, lines: [] };
      const text = await call(`logs of Pod ${namespace}/${podName}`, () =>
        core.readNamespacedPodLog({
          name: podName,
          namespace,
          container: "app",
          ...(opts.tailLines !== undefined ? { tailLines: opts.tailLines } : {}),
          ...(opts.sinceSeconds !== undefined ? { sinceSeconds: opts.sinceSeconds } : {}),
        }),
      );
      return { pod: podName, lines: text.split("\n").filter((line) => line.length > 0) };
    },

    async restart(ref) {
      const { namespace, name } = instanceObjects(config, ref);
      const restartedAt = new Date().toISOString();
      // Merge patch, not apply: the annotation must survive our next apply,
      // which only owns the fields it sets.
      await call(`restart Deployment ${namespace}/${name}`, () =>
        objects.patch(
          partialDeployment(name, namespace, {
            template: { metadata: { annotations: { [RESTARTED_AT]: restartedAt } } },
          }),
          undefined,
          undefined,
          `${FIELD_MANAGER}-restart`,
          undefined,
          PatchStrategy.MergePatch,
        ),
      );
      return { restartedAt };
    },

    async setSecretValues(ref, values) {
      const { namespace, name } = instanceObjects(config, ref);
      // A merge patch of stringData: only these keys change, and nothing is read back.
      await call(`update Secret ${namespace}/${name}`, () =>
        objects.patch(
          { apiVersion: "v1", kind: "Secret", metadata: { name, namespace }, stringData: values },
          undefined,
          undefined,
          `${FIELD_MANAGER}-credentials`,
          undefined,
          PatchStrategy.MergePatch,
        ),
      );
    },
  };
}

/** For tests and tools: the manifests the driver applies for one instance. */
export const manifestsOf = (config: ClusterConfig, spec: InstanceSpec) => ({
  pvc: pvcManifest(config, spec),
  service: serviceManifest(config, spec),
  ingress: ingressManifest(config, spec),
  deployment: deploymentManifest(config, spec),
});
