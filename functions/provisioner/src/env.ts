import {
  CLUSTER_IN_PRODUCTION,
  CREDENTIALS_KEY_IN_PRODUCTION,
  clusterAllowed,
  clusterEnvEntries,
  credentialsEnvEntries,
  credentialsKeyAllowed,
  domainEnvEntries,
} from "@minispod/instances";
import { baseEnvEntries, envField } from "@minispod/shared";
import * as v from "valibot";

const entries = {
  ...baseEnvEntries,
  ...clusterEnvEntries,
  ...credentialsEnvEntries,
  ...domainEnvEntries,
  /** A provision not running after this long becomes FAILED, with the cluster's reason. */
  PROVISION_TIMEOUT: envField.duration("10m"),
  /**
   * How often (ms) the provisioner re-reads an instance it just applied until
   * it runs or fails; 0 leaves that to the reconcile sweep alone.
   */
  PROVISION_POLL_MS: envField.int(1000, 0, 60_000),
  /** Instances per page when the sweep lists the cluster. */
  RECONCILE_PAGE_SIZE: envField.int(250, 1, 1000),
  /**
   * Most running instances one reconcile sweep applies again after their
   * catalog entry changed (new image, resources, env); the rest follow in
   * later sweeps, so a catalog edit never restarts every app at once.
   */
  RECONCILE_ROLLOUT_BATCH: envField.int(20, 1, 1000),
  /**
   * Days the newest backup of a purged instance is kept after the purge (the
   * customer can still restore it into a new subscription); then it is
   * deleted, with the customer's namespace when nothing else is left in it.
   */
  BACKUP_PURGE_GRACE_DAYS: envField.int(30, 0, 3650),
  /** A snapshot not ready after this long is marked FAILED. */
  BACKUP_TIMEOUT: envField.duration("1h"),
};

const schema = v.pipe(
  v.object(entries),
  v.forward(
    v.check((env) => clusterAllowed(env), CLUSTER_IN_PRODUCTION),
    ["K8S_DRIVER"],
  ),
  v.forward(
    v.check((env) => credentialsKeyAllowed(env), CREDENTIALS_KEY_IN_PRODUCTION),
    ["CREDENTIALS_KEYS"],
  ),
);

/** The provisioner's environment; `entries` alongside, because `parseEnv` reads it. */
export const provisionerEnvSchema = Object.assign(schema, { entries });
export type ProvisionerEnv = v.InferOutput<typeof schema>;
