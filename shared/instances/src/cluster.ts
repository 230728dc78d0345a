import type { ClusterPort } from "@minispod/cluster";
import { createKubernetesCluster, loadKubeConfig } from "@minispod/cluster/kubernetes";
import { createSimulatedCluster } from "@minispod/cluster/simulated";
import type { Db } from "@minispod/db";
import type { Logger } from "@minispod/shared";
import { type ClusterEnv, clusterConfigOf, driverOf } from "./env";

/**
 * The cluster driver the environment names: kubernetes (KUBECONFIG or the
 * pod's ServiceAccount) or the simulated cluster of local mode.
 *
 * @example
 * const cluster = clusterFromEnv(ctx.env, { db: ctx.db, logger: ctx.logger, now: ctx.now });
 */
export function clusterFromEnv(
  env: ClusterEnv,
  deps: { db: Db; logger: Logger; now?: () => Date },
): ClusterPort {
  const config = clusterConfigOf(env);
  if (driverOf(env) === "kubernetes") {
    deps.logger.info(
      { kubeconfig: env.KUBECONFIG ? "file" : "in-cluster" },
      "cluster: kubernetes driver",
    );
    return createKubernetesCluster({
      config,
      kubeConfig: loadKubeConfig(env.KUBECONFIG),
      requestTimeoutMs: env.K8S_REQUEST_TIMEOUT_MS,
    });
  }
  deps.logger.warn(
    { delayMs: env.K8S_SIMULATED_DELAY_MS },
    "no KUBECONFIG: instances run on the simulated cluster (local mode)",
  );
  return createSimulatedCluster({
    db: deps.db,
    config,
    delayMs: env.K8S_SIMULATED_DELAY_MS,
    snapshots: env.K8S_SIMULATED_SNAPSHOTS,
    ...(deps.now ? { now: deps.now } : {}),
  });
}
