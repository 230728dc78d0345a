import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

/**
 * The environment a function's pod gets from `knative/base/`: its Knative
 * Service's `envFrom` (the minispod-config ConfigMap) and `env` (literal
 * values and minispod-secrets keys), plus K_SINK where the SinkBinding
 * injects it. Used to start a bundle or an image the way the cluster would,
 * with test values for the secrets.
 */

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { key: string; optional?: boolean } };
}
interface ServiceDoc {
  kind?: string;
  metadata?: { labels?: Record<string, string> };
  spec?: {
    template?: {
      spec?: {
        containers?: { env?: EnvVar[]; envFrom?: { configMapRef?: { name: string } }[] }[];
      };
    };
  };
}

const documents = (file: string) =>
  parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJSON() as ServiceDoc);

/** The names of a function's env that come from minispod-secrets (required ones only). */
export function secretKeys(repo: string, name: string): string[] {
  return serviceEnvVars(repo, name).flatMap((e) =>
    e.valueFrom?.secretKeyRef && !e.valueFrom.secretKeyRef.optional
      ? [e.valueFrom.secretKeyRef.key]
      : [],
  );
}

function service(repo: string, name: string): ServiceDoc {
  const found = documents(join(repo, "knative", "base", "functions", `${name}.yaml`)).find(
    (d) => d.kind === "Service",
  );
  if (!found) throw new Error(`knative/base/functions/${name}.yaml declares no Service`);
  return found;
}

function serviceEnvVars(repo: string, name: string): EnvVar[] {
  return service(repo, name).spec?.template?.spec?.containers?.[0]?.env ?? [];
}

/**
 * `secrets` stands for minispod-secrets; `sink` for the Broker's address.
 * Required secret keys missing from `secrets` throw, as a pod would not start.
 */
export function serviceEnv(
  repo: string,
  name: string,
  secrets: Record<string, string>,
  sink: string,
): Record<string, string> {
  const svc = service(repo, name);
  const container = svc.spec?.template?.spec?.containers?.[0] ?? {};
  const env: Record<string, string> = {};
  if (container.envFrom?.some((e) => e.configMapRef?.name === "minispod-config")) {
    const config = documents(join(repo, "knative", "base", "config.yaml")).find(
      (d) => d.kind === "ConfigMap",
    ) as { data?: Record<string, string> } | undefined;
    Object.assign(env, config?.data ?? {});
  }
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (ref && secrets[ref.key] !== undefined) env[variable.name] = secrets[ref.key]!;
    else if (ref && !ref.optional) throw new Error(`${name}: no test value for secret ${ref.key}`);
  }
  if (svc.metadata?.labels?.["minispod.dev/publishes-events"] === "true") env.K_SINK = sink;
  return env;
}

/**
 * A kubeconfig naming an API server nobody answers at: the cluster functions
 * (provisioner, instances) start and report ready without reaching it, as in
 * a pod before their first request.
 */
export const UNREACHABLE_KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
  - name: none
    cluster: { server: "https://127.0.0.1:9" }
users:
  - name: none
    user: { token: test }
contexts:
  - name: none
    context: { cluster: none, user: none }
current-context: none
`;
