import { randomBytes } from "node:crypto";
import type {
  V1Deployment,
  V1Ingress,
  V1PersistentVolumeClaim,
  V1Probe,
  V1Secret,
  V1Service,
} from "@kubernetes/client-node";
import type { ClusterConfig } from "../config";
import {
  instanceObjects,
  labels,
  MANAGED_BY,
  SPEC_HASH_ANNOTATION,
  specHash,
  volumeName,
} from "../names";
import type { AppSpec, InstanceRef, InstanceSpec } from "../port";
import { WORKLOAD_SERVICE_ACCOUNT } from "./namespace";

/** UID/GID apps run as when the catalog says nothing (any non-root id works for most images). */
export const DEFAULT_UID = 1000;
/** Scratch space of a container when the catalog says nothing (request = limit). */
export const DEFAULT_EPHEMERAL_STORAGE = "1Gi";

/** What the container pulls: by digest when the catalog pins one, the tag kept for people. */
export const imageRef = (app: Pick<AppSpec, "image" | "imageTag" | "imageDigest">) =>
  `${app.image}:${app.imageTag}${app.imageDigest ? `@${app.imageDigest}` : ""}`;

/** The emptyDirs of a read-only root: /tmp always, then the app's writable paths. */
function scratchMounts(app: AppSpec) {
  if (!app.readOnlyRootFilesystem) return [];
  const paths = [...new Set(["/tmp", ...(app.writablePaths ?? [])])];
  return paths.map((mountPath, i) => ({ name: `scratch-${i}`, mountPath }));
}
const SERVICE_PORT = 80;

export const instanceLabels = (ref: InstanceRef, app?: Pick<AppSpec, "slug">) => ({
  [labels.managedBy]: MANAGED_BY,
  [labels.customer]: ref.customerId,
  [labels.instance]: ref.instanceId,
  ...(app ? { [labels.app]: app.slug } : {}),
});

/** Label selector of one instance's pods (stable for the life of the Deployment). */
export const instanceSelector = (ref: InstanceRef) => ({ [labels.instance]: ref.instanceId });

function probes(app: AppSpec): {
  startupProbe: V1Probe;
  readinessProbe: V1Probe;
  livenessProbe: V1Probe;
} {
  const check = app.probe
    ? { httpGet: { path: app.probe.path, port: "http" } }
    : { tcpSocket: { port: "http" } };
  return {
    // Slow first starts (migrations) get up to 5 minutes before liveness counts.
    startupProbe: {
      ...check,
      initialDelaySeconds: app.probe?.initialDelaySeconds ?? 0,
      periodSeconds: 5,
      failureThreshold: 60,
    },
    readinessProbe: { ...check, periodSeconds: 10, failureThreshold: 3 },
    livenessProbe: { ...check, periodSeconds: 20, failureThreshold: 6 },
  };
}

export function deploymentManifest(config: ClusterConfig, spec: InstanceSpec): V1Deployment {
  const { app } = spec;
  const { namespace, name } = instanceObjects(config, spec);
  const root = app.runAsUser === null;
  const uid = app.runAsUser ?? DEFAULT_UID;
  const storage = Boolean(app.resources.storage);
  const ephemeral = app.resources.ephemeralStorage ?? DEFAULT_EPHEMERAL_STORAGE;
  const resources = {
    cpu: app.resources.cpu,
    memory: app.resources.memory,
    "ephemeral-storage": ephemeral,
  };
  const scratch = scratchMounts(app);
  const mounts = [
    ...(storage ? [{ name: "data", mountPath: app.resources.storageMountPath ?? "/data" }] : []),
    ...scratch,
  ];
  const volumes = [
    ...(storage
      ? [
          {
            name: "data",
            persistentVolumeClaim: {
              claimName: volumeName(spec.instanceId, spec.volume?.generation),
            },
          },
        ]
      : []),
    ...scratch.map((m) => ({ name: m.name, emptyDir: { sizeLimit: ephemeral } })),
  ];
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name,
      namespace,
      labels: instanceLabels(spec, app),
      // On the Deployment, not the pod template: recording it restarts nothing.
      annotations: { [SPEC_HASH_ANNOTATION]: specHash(app) },
    },
    spec: {
      replicas: spec.suspended ? 0 : 1,
      revisionHistoryLimit: 2,
      selector: { matchLabels: instanceSelector(spec) },
      // A ReadWriteOnce volume cannot be attached to two pods: stop before starting.
      strategy: storage
        ? { type: "Recreate" }
        : { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: instanceLabels(spec, app) },
        spec: {
          serviceAccountName: WORKLOAD_SERVICE_ACCOUNT,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            seccompProfile: { type: "RuntimeDefault" },
            ...(root ? {} : { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid }),
          },
          containers: [
            {
              name: "app",
              image: imageRef(app),
              ports: [{ name: "http", containerPort: app.port, protocol: "TCP" }],
              env: Object.entries(app.env ?? {})
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([envName, value]) => ({ name: envName, value })),
              // Generated passwords come from the Secret, never from the manifest.
              envFrom: [{ secretRef: { name } }],
              resources: { requests: resources, limits: resources },
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: {
                  drop: ["ALL"],
                  // Root images that listen below 1024 (nginx on 80) need this one back.
                  ...(root && app.port < 1024 ? { add: ["NET_BIND_SERVICE"] } : {}),
                },
                ...(root ? {} : { runAsNonRoot: true }),
                ...(app.readOnlyRootFilesystem ? { readOnlyRootFilesystem: true } : {}),
              },
              ...probes(app),
              ...(mounts.length ? { volumeMounts: mounts } : {}),
            },
          ],
          ...(volumes.length ? { volumes } : {}),
        },
      },
    },
  };
}

export function serviceManifest(config: ClusterConfig, spec: InstanceSpec): V1Service {
  const { namespace, name } = instanceObjects(config, spec);
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, labels: instanceLabels(spec, spec.app) },
    spec: {
      type: "ClusterIP",
      selector: instanceSelector(spec),
      ports: [{ name: "http", port: SERVICE_PORT, targetPort: "http", protocol: "TCP" }],
    },
  };
}

/**
 * Traefik (K3s) routes <instance>.<domain> over HTTPS. With an issuer,
 * cert-manager signs a certificate into `<name>-tls`; without one the
 * Ingress has no TLS section (Traefik serves its default certificate), so
 * it never names a secret nothing will create.
 */
export function ingressManifest(config: ClusterConfig, spec: InstanceSpec): V1Ingress {
  const { namespace, name, host } = instanceObjects(config, spec);
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name,
      namespace,
      labels: instanceLabels(spec, spec.app),
      annotations: {
        "traefik.ingress.kubernetes.io/router.entrypoints": "websecure",
        "traefik.ingress.kubernetes.io/router.tls": "true",
        ...(config.tlsIssuer ? { "cert-manager.io/cluster-issuer": config.tlsIssuer } : {}),
      },
    },
    spec: {
      ingressClassName: config.ingressClassName,
      ...(config.tlsIssuer ? { tls: [{ hosts: [host], secretName: `${name}-tls` }] } : {}),
      rules: [
        {
          host,
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name, port: { name: "http" } } },
              },
            ],
          },
        },
      ],
    },
  };
}

/** Only for apps with storage; kept while suspended, deleted with the instance. */
export function pvcManifest(
  config: ClusterConfig,
  spec: InstanceSpec,
): V1PersistentVolumeClaim | null {
  const storage = spec.app.resources.storage;
  if (!storage) return null;
  const { namespace } = instanceObjects(config, spec);
  const name = volumeName(spec.instanceId, spec.volume?.generation);
  const dataSource = spec.volume?.dataSource;
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace, labels: instanceLabels(spec, spec.app) },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage } },
      ...(config.storageClassName ? { storageClassName: config.storageClassName } : {}),
      // A restored volume starts as a copy of the snapshot (the CSI driver fills it).
      ...(dataSource
        ? {
            dataSource: {
              apiGroup: "snapshot.storage.k8s.io",
              kind: "VolumeSnapshot",
              name: dataSource,
            },
          }
        : {}),
    },
  };
}

/** 32 random bytes, URL-safe: strong enough for any app password or token. */
export const generateSecretValue = () => randomBytes(32).toString("base64url");

/**
 * The instance's Secret with freshly generated values (or those the caller
 * chose, `secretValues`). It is created once
 * and never re-applied (that would regenerate passwords), so the driver
 * creates it only when absent. The values never leave this object.
 */
export function secretManifest(
  config: ClusterConfig,
  spec: InstanceSpec,
  generate: () => string = generateSecretValue,
): V1Secret {
  const { namespace, name } = instanceObjects(config, spec);
  const stringData: Record<string, string> = {};
  for (const key of spec.app.generatedSecrets ?? []) {
    stringData[key] = spec.secretValues?.[key] ?? generate();
  }
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace, labels: instanceLabels(spec, spec.app) },
    type: "Opaque",
    stringData,
  };
}

/** Every object of the instance except the Secret, in the order they are applied. */
export function instanceManifests(config: ClusterConfig, spec: InstanceSpec) {
  const pvc = pvcManifest(config, spec);
  return [
    ...(pvc ? [pvc] : []),
    serviceManifest(config, spec),
    ingressManifest(config, spec),
    deploymentManifest(config, spec),
  ];
}
