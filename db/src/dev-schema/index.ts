/**
 * Tables of local mode only, migrated by the dev-only set (`db/migrations-dev`,
 * `Database.migrateDev()`): the local broker's queue, the simulated cluster and the store that keeps revocation marks across restarts.
 * The production migrate Job never creates them.
 */
export { localBrokerDeliveries } from "./local-broker";
export { localStoreEntries } from "./local-store";
export { simulatedDomains, simulatedNamespaces, simulatedWorkloads } from "./simulated-cluster";
export { simulatedSnapshots, simulatedVolumes } from "./simulated-snapshots";
