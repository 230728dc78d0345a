/**
 * Helpers for tests against the real Kubernetes test lab (scripts/k8s/).
 * Cluster tests run when MINISPOD_TEST_KUBECONFIG names the lab's kubeconfig
 * (`npm run test:cluster` sets it); otherwise they are skipped with a notice.
 */
import { randomUUID } from "node:crypto";
import { KubeConfig } from "@kubernetes/client-node";
import { describe } from "vitest";

export {
  type Fault,
  type FaultProxy,
  type ProxiedRequest,
  startFaultProxy,
} from "./fault-proxy";
export {
  installSnapshotApi,
  LAB_SNAPSHOT_CLASS,
  LAB_VOLUME_DRIVER,
  startSnapshotController,
} from "./snapshots";

export const labKubeconfigPath = (): string | undefined =>
  process.env.MINISPOD_TEST_KUBECONFIG || undefined;

let noticeShown = false;

/**
 * `describe` for tests that need the lab: skipped, with one line saying how
 * to run them, when no lab is configured.
 *
 * @example
 * describeCluster("kubernetes driver", () => { it("creates namespaces", ...) });
 */
export function describeCluster(name: string, fn: () => void): void {
  if (labKubeconfigPath()) {
    describe(name, fn);
    return;
  }
  if (!noticeShown) {
    noticeShown = true;
    console.warn(
      "[cluster tests skipped] no Kubernetes test lab: run `npm run test:cluster` " +
        "(or `scripts/k8s/start.sh`, then `MINISPOD_TEST_KUBECONFIG=<its kubeconfig> npm test`)",
    );
  }
  describe.skip(name, fn);
}

/** The lab's admin kubeconfig (a client certificate in system:masters). */
export function labKubeConfig(): KubeConfig {
  const path = labKubeconfigPath();
  if (!path) throw new Error("MINISPOD_TEST_KUBECONFIG is not set");
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** A fresh customer id per test, so tests never share a namespace (deletion takes 16-35 s). */
export const uniqueId = () => randomUUID();

export { installLabCrds } from "./crds";
export { asServiceAccount } from "./service-account";
export { tokenKubeConfig } from "./token";
export { waitFor } from "./wait";
