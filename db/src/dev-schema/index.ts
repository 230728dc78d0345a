/**
 * Tables of local mode only, migrated by the dev-only set (`db/migrations-dev`,
 * `Database.migrateDev()`): the local broker's queue and the simulated cluster.
 * The production migrate Job never creates them.
 */
export { localBrokerDeliveries } from "./local-broker";
export { simulatedNamespaces, simulatedWorkloads } from "./simulated-cluster";
