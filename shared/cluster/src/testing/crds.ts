import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ApiextensionsV1Api,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadAllYaml,
  PatchStrategy,
} from "@kubernetes/client-node";

const repo = fileURLToPath(new URL("../../../../", import.meta.url));

/**
 * Installs the CRDs `scripts/deploy/crds.sh` collects from the Go module
 * proxy whose files start with `prefix` (e.g. "cert-manager-") into the lab,
 * and waits until each is Established. Idempotent (server-side apply).
 *
 * @example
 * await installLabCrds(labKubeConfig(), "cert-manager-"); // Certificate, Issuer, ClusterIssuer...
 */
export async function installLabCrds(kc: KubeConfig, prefix: string): Promise<string[]> {
  const dir = execFileSync(join(repo, "scripts", "deploy", "crds.sh"), {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
  const files = readdirSync(dir).filter((f) => f.startsWith(prefix));
  if (files.length === 0) throw new Error(`no CRD files starting with ${prefix} in ${dir}`);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const names: string[] = [];
  for (const file of files) {
    // loadAllYaml builds client-node's typed models, which its serializer needs to write
    // `x-kubernetes-*` schema keys back under their wire names (plain JSON loses them).
    for (const doc of loadAllYaml(readFileSync(join(dir, file), "utf8"))) {
      const crd = doc as KubernetesObject | null;
      if (crd?.kind !== "CustomResourceDefinition") continue;
      await objects.patch(
        crd,
        undefined,
        undefined,
        "minispod-tests",
        true,
        PatchStrategy.ServerSideApply,
      );
      names.push(crd.metadata?.name ?? "");
    }
  }
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const deadline = Date.now() + 60_000;
  for (const name of names) {
    for (;;) {
      const crd = await ext.readCustomResourceDefinition({ name });
      if (crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) {
        break;
      }
      if (Date.now() > deadline) throw new Error(`CRD ${name} not established within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return names;
}
