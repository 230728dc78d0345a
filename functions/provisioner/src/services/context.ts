import type { ClusterPort } from "@minispod/cluster";
import type { Db } from "@minispod/db";
import type { DomainResolver } from "@minispod/instances";
import type { Keyring, Logger, Metrics } from "@minispod/shared";

/** What the provisioner's services need; built once in app.ts. */
export interface ProvisionerContext {
  db: Db;
  cluster: ClusterPort;
  logger: Logger;
  now: () => Date;
  /** The CloudEvent source of what the provisioner emits. */
  source: string;
  provisionTimeoutMs: number;
  /** Counts instances that turn FAILED (`minispod_instances_failed_total`). */
  metrics: Metrics;
  /** Seals and opens the credentials handed to customers (CREDENTIALS_KEYS). */
  keyring: Keyring;
  /** Custom domains: TXT lookups of unverified claims, and how long each step may take. */
  domains: { resolver: DomainResolver; verifyWindowMs: number; issueTimeoutMs: number };
  /** Called for an instance left PROVISIONING, to watch it until it runs or fails. */
  onProvisioning?: ((instanceId: string) => void) | undefined;
}
