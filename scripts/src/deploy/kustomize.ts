/**
 * Builds a kustomize overlay with kubectl's built-in kustomize (`kubectl
 * kustomize`), the same command the deploy guide uses. KUBECTL names another
 * kubectl binary (for example the one the Kubernetes test lab provides).
 */
import { spawnSync } from "node:child_process";
import { type K8sObject, parseObjects } from "./knative-checks";

export const kubectlBinary = () => process.env.KUBECTL ?? "kubectl";

/** Undefined when kubectl runs; otherwise why not. */
export function kubectlMissing(): string | undefined {
  const run = spawnSync(kubectlBinary(), ["version", "--client"], { encoding: "utf8" });
  if (run.error) return `${kubectlBinary()} not found (${run.error.message}); set KUBECTL`;
  return run.status === 0 ? undefined : `${kubectlBinary()} version failed: ${run.stderr}`;
}

export function kustomize(dir: string):
  | { ok: true; objects: K8sObject[]; yaml: string }
  | {
      ok: false;
      error: string;
    } {
  const run = spawnSync(kubectlBinary(), ["kustomize", dir], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) return { ok: false, error: run.stderr || String(run.error) };
  return { ok: true, objects: parseObjects(run.stdout, dir), yaml: run.stdout };
}
