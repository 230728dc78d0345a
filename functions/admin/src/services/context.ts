import type { Db } from "@minispod/db";
import type { KeyValueStore, Logger } from "@minispod/shared";

/** What the admin services need: the database, the revocation store, the clock. */
export interface AdminContext {
  db: Db;
  store: KeyValueStore;
  logger: Logger;
  now: () => Date;
  /** Access token lifetime in seconds: how long a revocation mark must live. */
  accessTokenTtl: number;
}
