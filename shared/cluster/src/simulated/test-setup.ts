import { createDb, type Database } from "@minispod/db";
import { cloneDatabase } from "@minispod/db/testing";
import { inject } from "vitest";
import { defaultClusterConfig } from "../config";
import { createSimulatedCluster, type SimulatedCluster } from "./index";

/**
 * For the simulated driver's own tests: a clone of the test template database
 * (real PostgreSQL) and a simulated cluster on it, stepping every `delayMs` of
 * the clock `now` that the test moves. `close` drops the clone.
 */
export async function openSimulatedCluster(options: {
  delayMs: number;
  now: () => Date;
}): Promise<{ cluster: SimulatedCluster; database: Database; close: () => Promise<void> }> {
  const cloned = await cloneDatabase(inject("databaseServerUrl"), inject("templateDatabase"));
  const database = createDb(cloned.url, { max: 3 });
  const cluster = createSimulatedCluster({
    db: database.db,
    config: defaultClusterConfig,
    delayMs: options.delayMs,
    now: options.now,
  });
  return {
    cluster,
    database,
    close: async () => {
      await database.close();
      await cloned.drop();
    },
  };
}
