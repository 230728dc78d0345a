import type { ClusterPort } from "@minispod/cluster";
import type { Db } from "@minispod/db";
import type { DomainResolver } from "@minispod/instances";
import type {
  Keyring,
  KeyValueStore,
  Logger,
  Metrics,
  RateLimiter,
  UserActor,
} from "@minispod/shared";

export { canReach } from "@minispod/shared";

export interface InstancesContext {
  db: Db;
  cluster: ClusterPort;
  logger: Logger;
  now: () => Date;
  /** The CloudEvent source of what on-demand reads record. */
  source: string;
  provisionTimeoutMs: number;
  /** Counts instances an observation turns FAILED (`minispod_instances_failed_total`). */
  metrics: Metrics;
  /** Holds the one restart in flight per instance. */
  store: KeyValueStore;
  /** Counts restarts per instance. */
  limiter: RateLimiter;
  restartLimit: { limit: number; windowSeconds: number };
  /** Opens and seals the app credentials handed to the customer (CREDENTIALS_KEYS). */
  keyring: Keyring;
  /** Custom domains: the TXT lookups, the limit per instance, the platform's own domain. */
  domains: {
    resolver: DomainResolver;
    perInstance: number;
    /** K8S_CLUSTER_DOMAIN: no customer may claim it or a name under it. */
    platformDomain: string;
    issueTimeoutMs: number;
  };
}

/** The signed-in caller (the shared actor type, so audit rows read alike). */
export type Actor = UserActor;
