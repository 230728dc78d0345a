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
  /** Same as the provisioner's: an on-demand read past it records FAILED too. */
  PROVISION_TIMEOUT: envField.duration("10m"),
  /** Restarts one instance may take per INSTANCE_RESTART_WINDOW, whoever asks (0 = no limit). */
  INSTANCE_RESTART_LIMIT: envField.int(6, 0, 1000),
  INSTANCE_RESTART_WINDOW: envField.duration("1h"),
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

/** The instances API's environment; `entries` alongside, because `parseEnv` reads it. */
export const instancesEnvSchema = Object.assign(schema, { entries });
export type InstancesEnv = v.InferOutput<typeof schema>;
