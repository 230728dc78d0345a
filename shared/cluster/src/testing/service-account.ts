import { readFileSync } from "node:fs";
import { CoreV1Api, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { defaultClusterConfig } from "../config";
import { createKubernetesCluster } from "../kubernetes";
import { tokenKubeConfig } from "./token";

/** Where the project's functions run, and their ServiceAccounts live. */
const NAMESPACE = "minispod";

/**
 * Applies the RBAC of a manifest under knative/ (its Knative Service left out,
 * which needs Knative's CRDs; a ServiceAccount put in `minispod`, as kustomize
 * does) and answers a kubeconfig that authenticates as the ServiceAccount
 * `name`, with a 10-minute token: what RBAC and admission tests act as.
 */
export async function asServiceAccount(
  admin: KubeConfig,
  manifest: string,
  name: string,
): Promise<KubeConfig> {
  const objects = parseAllDocuments(readFileSync(manifest, "utf8"))
    .map((d) => d.toJSON() as KubernetesObject)
    .filter((o) => o.apiVersion !== "serving.knative.dev/v1")
    .map((o) =>
      o.kind === "ServiceAccount" ? { ...o, metadata: { ...o.metadata, namespace: NAMESPACE } } : o,
    );
  const cluster = createKubernetesCluster({ config: defaultClusterConfig, kubeConfig: admin });
  await cluster.applyObjects([
    { apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } },
  ]);
  await cluster.applyObjects(objects);
  const token = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name,
    namespace: NAMESPACE,
    body: { spec: { audiences: [], expirationSeconds: 600 } },
  });
  return tokenKubeConfig(admin, token.status?.token ?? "");
}
