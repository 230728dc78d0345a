/**
 * Every overlay, applied with a server-side dry run to a real kube-apiserver
 * holding the Knative Serving, Knative Eventing, Traefik, prometheus-operator and
 * CloudNativePG CRDs (the last kept beside the repository in ../shared/crds,
 * as the module proxy does not serve them): the CRDs' schemas
 * refuse unknown fields, wrong types and wrong apiVersions, and the server says in
 * which namespace each object would land. Needs the Kubernetes test lab:
 *   . "$(scripts/k8s/start.sh --crds "$(scripts/deploy/crds.sh)")"   # sets MINISPOD_TEST_KUBECONFIG
 * Without it the suite is skipped, saying so.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { checkBuiltOverlay, type K8sObject, NAMESPACE } from "../src/deploy/knative-checks";
import { kubectlBinary, kubectlMissing, kustomize } from "../src/deploy/kustomize";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const kubeconfig = process.env.MINISPOD_TEST_KUBECONFIG;
const why = !kubeconfig
  ? "MINISPOD_TEST_KUBECONFIG is not set: start the lab with scripts/k8s/start.sh"
  : kubectlMissing();

function kubectl(args: string[], input?: string) {
  const run = spawnSync(kubectlBinary(), ["--kubeconfig", kubeconfig ?? "", ...args], {
    input,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return { ok: run.status === 0, stdout: run.stdout, stderr: run.stderr };
}

/** Server-side dry run of `objects`; on success, the objects as the server would store them. */
function dryRun(objects: K8sObject[]) {
  const yaml = objects.map((o) => stringify(o)).join("---\n");
  // No --namespace: an object without one lands wherever the context points, as in real life.
  const run = kubectl(
    ["apply", "--dry-run=server", "--validate=strict", "-o", "json", "-f", "-"],
    yaml,
  );
  if (!run.ok) return { ok: false as const, error: run.stderr };
  const answer = JSON.parse(run.stdout) as K8sObject & { items?: K8sObject[] };
  return { ok: true as const, objects: answer.items ?? [answer] };
}

function build(overlay: string): K8sObject[] {
  const built = kustomize(join(repo, "knative", "overlays", overlay));
  if (!built.ok) throw new Error(built.error);
  return built.objects;
}
const find = (objects: K8sObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} not built`);
  return found;
};
// biome-ignore lint/suspicious/noExplicitAny: tests reach into free-form manifest specs.
const spec = (o: K8sObject) => o.spec as any;

describe.skipIf(why !== undefined)(
  `knative/ overlays against a real API server${why ? ` (skipped: ${why})` : ""}`,
  () => {
    beforeAll(() => {
      const crds = execFileSync(join(repo, "scripts", "deploy", "crds.sh"), {
        encoding: "utf8",
      }).trim();
      // ../shared/crds beside the clone (CI keeps a copy there); SHARED_CRDS_DIR elsewhere.
      const shared = process.env.SHARED_CRDS_DIR ?? join(repo, "..", "shared", "crds");
      for (const dir of [crds, join(shared, "cloudnative-pg")]) {
        const applied = kubectl(["apply", "--server-side", "--force-conflicts", "-f", dir]);
        if (!applied.ok) throw new Error(`installing the CRDs of ${dir} failed: ${applied.stderr}`);
      }
      const established = kubectl([
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd",
        "services.serving.knative.dev",
        "triggers.eventing.knative.dev",
        "pingsources.sources.knative.dev",
        "ingressroutes.traefik.io",
        "podmonitors.monitoring.coreos.com",
        "prometheusrules.monitoring.coreos.com",
        "clusters.postgresql.cnpg.io",
        "poolers.postgresql.cnpg.io",
        "scheduledbackups.postgresql.cnpg.io",
      ]);
      if (!established.ok) throw new Error(established.stderr);
      // A dry run does not create the namespace the objects after it need.
      const ns = kubectl(["apply", "-f", join(repo, "knative", "base", "namespace.yaml")]);
      if (!ns.ok) throw new Error(ns.stderr);
    }, 120_000);

    it.each(["dev", "production"])(
      "accepts the %s overlay, every object in namespace minispod",
      (overlay) => {
        const answer = dryRun(build(overlay));
        if (!answer.ok) throw new Error(answer.error);
        expect(answer.objects.length).toBeGreaterThan(20);
        // The server fills in the namespace of every namespaced object (the context's when the
        // object names none) and leaves it off cluster-scoped ones such as the provisioner's ClusterRole.
        const misplaced = answer.objects
          .filter((o) => o.metadata.namespace !== undefined && o.metadata.namespace !== NAMESPACE)
          .map((o) => `${o.kind}/${o.metadata.name} in ${o.metadata.namespace}`);
        expect(misplaced).toEqual([]);
      },
      60_000,
    );

    it("accepts the monitoring and CloudNativePG objects of production as the operators' CRDs define them", () => {
      const answer = dryRun(build("production"));
      if (!answer.ok) throw new Error(answer.error);
      const kinds = answer.objects.map((o) => `${o.kind}/${o.metadata.name}`);
      expect(kinds).toEqual(
        expect.arrayContaining([
          "PodMonitor/minispod-functions",
          "PrometheusRule/minispod",
          "Cluster/minispod-db",
          "Pooler/minispod-db-pooler-rw",
          "ScheduledBackup/minispod-db-nightly",
        ]),
      );
      expect(spec(find(answer.objects, "Pooler", "minispod-db-pooler-rw")).pgbouncer.poolMode).toBe(
        "transaction",
      );
    });

    it("refuses a PodMonitor, a Pooler or a Cluster the operators' schemas do not allow", () => {
      const objects = build("production");
      spec(find(objects, "PodMonitor", "minispod-functions")).podMetricsEndpoints[0].scrapeEvery =
        "30s";
      const unknown = dryRun(objects);
      expect(unknown.ok).toBe(false);
      expect(unknown.ok ? "" : unknown.error).toMatch(/unknown field.*scrapeEvery/);
      const pooled = build("production");
      spec(find(pooled, "Pooler", "minispod-db-pooler-rw")).pgbouncer.poolMode = "statement-ish";
      const refused = dryRun(pooled);
      expect(refused.ok).toBe(false);
      expect(refused.ok ? "" : refused.error).toMatch(/poolMode/);
      const clustered = build("production");
      spec(find(clustered, "Cluster", "minispod-db")).instances = "three";
      const wrongType = dryRun(clustered);
      expect(wrongType.ok).toBe(false);
      expect(wrongType.ok ? "" : wrongType.error).toMatch(/spec\.instances/);
    });

    it("refuses an unknown field", () => {
      const objects = build("production");
      spec(find(objects, "Service", "auth")).template.spec.containerConcurency = 5;
      const answer = dryRun(objects);
      expect(answer.ok).toBe(false);
      expect(answer.ok ? "" : answer.error).toMatch(/unknown field.*containerConcurency/);
    });

    it("refuses a wrong type", () => {
      const objects = build("production");
      spec(find(objects, "Trigger", "notifier-customer-events")).delivery.retry = "ten";
      const answer = dryRun(objects);
      expect(answer.ok).toBe(false);
      expect(answer.ok ? "" : answer.error).toMatch(/spec\.delivery\.retry/);
    });

    it("refuses a wrong apiVersion", () => {
      const objects = build("production");
      find(objects, "PingSource", "outbox-relay-every-minute").apiVersion =
        "sources.knative.dev/v2";
      const answer = dryRun(objects);
      expect(answer.ok).toBe(false);
      expect(answer.ok ? "" : answer.error).toMatch(/no matches for kind "PingSource"/);
    });

    it("shows where an object without a namespace would land, and the check refuses it", () => {
      const objects = build("production");
      delete find(objects, "ConfigMap", "kafka-broker-config").metadata.namespace;
      const answer = dryRun(objects);
      if (!answer.ok) throw new Error(answer.error);
      const landed = find(answer.objects, "ConfigMap", "kafka-broker-config");
      expect(landed.metadata.namespace).toBe("default");
      expect(
        checkBuiltOverlay(answer.objects, {
          functions: [],
          consumes: {},
          cronJobs: {},
          eventTypes: [],
        }).filter((p) => p.includes("namespace")),
      ).toEqual(["ConfigMap/kafka-broker-config is in namespace default, not minispod"]);
    });
  },
);
