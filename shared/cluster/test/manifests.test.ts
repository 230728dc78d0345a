import { describe, expect, it } from "vitest";
import { defaultClusterConfig } from "../src/config";
import {
  certificateManifest,
  certificateName,
  certificateSecretName,
  deploymentManifest,
  domainsIngressManifest,
  ingressManifest,
  limitRangeManifest,
  namespaceManifest,
  networkPolicyManifests,
  pvcManifest,
  resourceQuotaManifest,
  secretManifest,
  serviceAccountManifests,
} from "../src/manifests";
import { bytes, cpuMillis, formatBytes, formatCpu } from "../src/manifests/quantities";
import { demoApps, statelessApp } from "./fixtures";

const config = {
  ...defaultClusterConfig,
  clusterDomain: "apps.example.test",
  tlsIssuer: "letsencrypt",
};
const customerId = "7b0c6a3e-0000-4000-8000-000000000001";
const instanceId = "0f7c1c9a-0000-4000-8000-0000000000aa";
const [kuma, gitea] = demoApps as [
  NonNullable<(typeof demoApps)[0]>,
  NonNullable<(typeof demoApps)[1]>,
];

describe("quantities", () => {
  it("adds up CPU and bytes the way Kubernetes writes them", () => {
    expect(cpuMillis("250m")).toBe(250);
    expect(cpuMillis("0.5")).toBe(500);
    expect(cpuMillis("2")).toBe(2000);
    expect(bytes("512Mi")).toBe(512 * 2 ** 20);
    expect(bytes("1G")).toBe(1e9);
    expect(formatCpu(1500)).toBe("1500m");
    expect(formatCpu(2000)).toBe("2");
    expect(formatBytes(bytes("512Mi") + bytes("1Gi"))).toBe("1536Mi");
    expect(() => cpuMillis("lots")).toThrow(RangeError);
    expect(() => bytes("5 GB")).toThrow(RangeError);
  });
});

describe("namespace manifests", () => {
  const spec = { customerId, plans: [kuma.resources, gitea.resources] };

  it("names the namespace prefix + customer id and enforces restricted by default", () => {
    const ns = namespaceManifest(config, spec);
    expect(ns.metadata?.name).toBe(`customer-${customerId}`);
    expect(ns.metadata?.labels).toMatchObject({
      "minispod.dev/customer": customerId,
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/warn": "restricted",
    });
    const baseline = namespaceManifest(config, { ...spec, podSecurity: "baseline" });
    expect(baseline.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("baseline");
  });

  it("sizes the quota from the plans plus room for one surge pod of the largest", () => {
    const hard = resourceQuotaManifest(config, spec).spec?.hard ?? {};
    expect(hard["requests.cpu"]).toBe("1250m"); // 250m + 500m + 500m
    expect(hard["limits.memory"]).toBe("1280Mi"); // 256Mi + 512Mi + 512Mi
    expect(hard["requests.storage"]).toBe("6Gi");
    expect(hard.persistentvolumeclaims).toBe("2");
    expect(hard["count/deployments.apps"]).toBe("2");
    expect(hard["services.loadbalancers"]).toBe("0");
  });

  it("counts a restore's overlapping volume in claims and storage, not in compute", () => {
    const hard = resourceQuotaManifest(config, { ...spec, extraVolumes: ["5Gi"] }).spec?.hard ?? {};
    expect(hard["requests.storage"]).toBe("11Gi");
    expect(hard.persistentvolumeclaims).toBe("3");
    expect(hard["requests.cpu"]).toBe("1250m");
    expect(hard["count/deployments.apps"]).toBe("2");
  });

  it("leaves room for custom domains: their Ingress, certificate Secrets and HTTP-01 solvers", () => {
    // Two instances, five domains each by default.
    const hard = resourceQuotaManifest(config, spec).spec?.hard ?? {};
    expect(hard["count/ingresses.networking.k8s.io"]).toBe("14"); // 2 x (own + domains + 5 solvers)
    expect(hard.secrets).toBe("26"); // 2 x (own + tls + 5 x (tls + next key)) + 2
    expect(hard.services).toBe("12");
    expect(hard.pods).toBe("14");
    const none = resourceQuotaManifest({ ...config, domainsPerInstance: 0 }, spec).spec?.hard ?? {};
    expect(none["count/ingresses.networking.k8s.io"]).toBe("4");
    expect(none.secrets).toBe("6");
  });

  it("bounds one container by the largest plan", () => {
    const [container, pvc] = limitRangeManifest(config, spec).spec?.limits ?? [];
    expect(container?.max).toEqual({ cpu: "500m", memory: "512Mi" });
    expect(pvc).toMatchObject({ type: "PersistentVolumeClaim", max: { storage: "5Gi" } });
  });

  it("denies all traffic and allows only the ingress controller, DNS and (configured) the internet", () => {
    const names = networkPolicyManifests(config, spec).map((p) => p.metadata?.name);
    expect(names).toEqual([
      "default-deny",
      "allow-ingress-controller",
      "allow-dns",
      "allow-internet",
    ]);
    const closed = networkPolicyManifests({ ...config, egress: "none" }, spec).map(
      (p) => p.metadata?.name,
    );
    expect(closed).not.toContain("allow-internet");
    const internet = networkPolicyManifests(config, spec)[3]?.spec?.egress?.[0]?.to?.[0]?.ipBlock;
    expect(internet?.except).toEqual(
      expect.arrayContaining(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]),
    );
  });

  it("gives pods service accounts that mount no token", () => {
    for (const sa of serviceAccountManifests(config, spec))
      expect(sa.automountServiceAccountToken).toBe(false);
  });
});

describe("instance manifests", () => {
  const spec = { customerId, instanceId, app: gitea };

  it("hardens the pod: non-root, RuntimeDefault seccomp, no capabilities, no escalation, no service links", () => {
    const pod = deploymentManifest(config, spec).spec?.template.spec;
    expect(pod?.enableServiceLinks).toBe(false);
    expect(pod?.automountServiceAccountToken).toBe(false);
    expect(pod?.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    const container = pod?.containers[0];
    expect(container?.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
    expect(container?.resources).toEqual({
      requests: { cpu: "500m", memory: "512Mi", "ephemeral-storage": "1Gi" },
      limits: { cpu: "500m", memory: "512Mi", "ephemeral-storage": "1Gi" },
    });
    expect(container?.image).toBe("gitea/gitea:1.22");
    expect(container?.volumeMounts).toEqual([{ name: "data", mountPath: "/data" }]);
  });

  it("bounds scratch space: ephemeral-storage request = limit, from the catalog or 1Gi", () => {
    const sized = {
      ...spec,
      app: { ...gitea, resources: { ...gitea.resources, ephemeralStorage: "3Gi" } },
    };
    const resources = deploymentManifest(config, sized).spec?.template.spec?.containers[0]
      ?.resources;
    expect(resources?.requests?.["ephemeral-storage"]).toBe("3Gi");
    expect(resources?.limits?.["ephemeral-storage"]).toBe("3Gi");
  });

  it("mounts the root read-only where the app allows, with emptyDirs for /tmp and its writable paths", () => {
    const app = {
      ...gitea,
      readOnlyRootFilesystem: true,
      writablePaths: ["/var/cache/app", "/tmp"],
    };
    const pod = deploymentManifest(config, { ...spec, app }).spec?.template.spec;
    const container = pod?.containers[0];
    expect(container?.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(container?.volumeMounts).toEqual([
      { name: "data", mountPath: "/data" },
      { name: "scratch-0", mountPath: "/tmp" },
      { name: "scratch-1", mountPath: "/var/cache/app" },
    ]);
    expect(pod?.volumes).toEqual([
      { name: "data", persistentVolumeClaim: { claimName: `i-${instanceId}` } },
      { name: "scratch-0", emptyDir: { sizeLimit: "1Gi" } },
      { name: "scratch-1", emptyDir: { sizeLimit: "1Gi" } },
    ]);
    // An app that has not said so keeps a writable root and no scratch volumes.
    const plain = deploymentManifest(config, spec).spec?.template.spec;
    expect(plain?.containers[0]?.securityContext?.readOnlyRootFilesystem).toBeUndefined();
    expect(plain?.volumes).toEqual([
      { name: "data", persistentVolumeClaim: { claimName: `i-${instanceId}` } },
    ]);
  });

  it("pulls by digest when the catalog pins one, keeping the tag for people", () => {
    const digest = `sha256:${"ab".repeat(32)}`;
    const pinned = deploymentManifest(config, { ...spec, app: { ...gitea, imageDigest: digest } });
    expect(pinned.spec?.template.spec?.containers[0]?.image).toBe(`gitea/gitea:1.22@${digest}`);
  });

  it("runs root-only images as root with only NET_BIND_SERVICE back, and scales suspended ones to zero", () => {
    const excalidraw = demoApps[4]!;
    const d = deploymentManifest(config, {
      customerId,
      instanceId,
      app: excalidraw,
      suspended: true,
    });
    expect(d.spec?.replicas).toBe(0);
    expect(d.spec?.template.spec?.securityContext?.runAsNonRoot).toBeUndefined();
    expect(d.spec?.template.spec?.containers[0]?.securityContext?.capabilities).toEqual({
      drop: ["ALL"],
      add: ["NET_BIND_SERVICE"],
    });
  });

  it("uses Recreate with a volume and a surge without one", () => {
    expect(deploymentManifest(config, spec).spec?.strategy?.type).toBe("Recreate");
    const stateless = deploymentManifest(config, { customerId, instanceId, app: statelessApp });
    expect(stateless.spec?.strategy?.type).toBe("RollingUpdate");
    expect(stateless.spec?.template.spec?.containers[0]?.readinessProbe?.httpGet?.path).toBe(
      "/health",
    );
    expect(pvcManifest(config, { customerId, instanceId, app: statelessApp })).toBeNull();
    expect(pvcManifest(config, spec)?.spec?.storageClassName).toBeUndefined();
    const classed = pvcManifest({ ...config, storageClassName: "fast-ssd" }, spec);
    expect(classed?.spec?.storageClassName).toBe("fast-ssd");
  });

  it("routes <instance>.<domain> over TLS with the configured issuer", () => {
    const ingress = ingressManifest(config, spec);
    const host = `i-${instanceId}.apps.example.test`;
    expect(ingress.spec?.rules?.[0]?.host).toBe(host);
    expect(ingress.spec?.tls).toEqual([{ hosts: [host], secretName: `i-${instanceId}-tls` }]);
    expect(ingress.metadata?.annotations?.["cert-manager.io/cluster-issuer"]).toBe("letsencrypt");
    expect(ingress.spec?.ingressClassName).toBe("traefik");
  });

  it("has no TLS section without an issuer, so it never names a secret nothing creates", () => {
    const ingress = ingressManifest({ ...config, tlsIssuer: null }, spec);
    expect(ingress.spec?.tls).toBeUndefined();
    expect(ingress.spec?.rules?.[0]?.host).toBe(`i-${instanceId}.apps.example.test`);
    expect(ingress.metadata?.annotations?.["cert-manager.io/cluster-issuer"]).toBeUndefined();
  });

  it("routes custom domains from a second Ingress, TLS only for the ones whose certificate is ready", () => {
    const ref = { customerId, instanceId };
    const ingress = domainsIngressManifest(
      config,
      ref,
      ["a.example.org", "b.example.org"],
      new Set(["b.example.org"]),
    );
    expect(ingress.metadata?.name).toBe(`i-${instanceId}-domains`);
    expect(ingress.metadata?.namespace).toBe(`customer-${customerId}`);
    expect(ingress.spec?.rules?.map((r) => r.host)).toEqual(["a.example.org", "b.example.org"]);
    expect(ingress.spec?.rules?.[0]?.http?.paths[0]?.backend.service?.name).toBe(`i-${instanceId}`);
    expect(ingress.spec?.tls).toEqual([
      { hosts: ["b.example.org"], secretName: certificateSecretName(ref, "b.example.org") },
    ]);
    expect(
      domainsIngressManifest(config, ref, ["a.example.org"], new Set()).spec?.tls,
    ).toBeUndefined();
    const cert = certificateManifest(config, ref, "a.example.org");
    expect(cert).toMatchObject({
      apiVersion: "cert-manager.io/v1",
      kind: "Certificate",
      metadata: {
        name: certificateName(ref, "a.example.org"),
        annotations: { "minispod.dev/domain": "a.example.org" },
        labels: {
          "minispod.dev/instance": instanceId,
          "app.kubernetes.io/component": "custom-domain",
        },
      },
      spec: {
        dnsNames: ["a.example.org"],
        secretName: `${certificateName(ref, "a.example.org")}-tls`,
        issuerRef: { kind: "ClusterIssuer", name: "letsencrypt" },
      },
    });
    expect(certificateName(ref, "a.example.org")).toMatch(/^i-[0-9a-f-]{36}-d-[0-9a-f]{12}$/);
    expect(certificateName(ref, "a.example.org")).not.toBe(certificateName(ref, "b.example.org"));
  });

  it("labels every object with the customer and the instance, under the same deterministic name", () => {
    const objects = [
      deploymentManifest(config, spec),
      ingressManifest(config, spec),
      pvcManifest(config, spec),
    ];
    for (const o of objects) {
      expect(o?.metadata?.name).toBe(`i-${instanceId}`);
      expect(o?.metadata?.labels).toMatchObject({
        "minispod.dev/customer": customerId,
        "minispod.dev/instance": instanceId,
      });
    }
    expect(deploymentManifest(config, spec)).toEqual(deploymentManifest(config, spec));
  });

  it("generates a distinct strong value for each secret key, kept out of the Deployment", () => {
    const secret = secretManifest(config, spec);
    const values = Object.values(secret.stringData ?? {});
    expect(Object.keys(secret.stringData ?? {})).toEqual(gitea.generatedSecrets);
    expect(new Set(values).size).toBe(values.length);
    for (const value of values) expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const deployment = JSON.stringify(deploymentManifest(config, spec));
    for (const value of values) expect(deployment).not.toContain(value);
  });

  it("writes the caller's value for a handed-over credential and generates the rest", () => {
    const [first, second] = gitea.generatedSecrets ?? [];
    const chosen = { ...spec, secretValues: { [first!]: "chosen-by-the-provisioner" } };
    const data = secretManifest(config, chosen).stringData ?? {};
    expect(data[first!]).toBe("chosen-by-the-provisioner");
    expect(data[second!]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Not part of the app spec: choosing values never changes the Deployment or its hash.
    expect(deploymentManifest(config, chosen)).toEqual(deploymentManifest(config, spec));
  });
});
