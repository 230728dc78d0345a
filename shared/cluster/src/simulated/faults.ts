/**
 * The ways a cluster fails that the simulated driver can act out, for demos
 * and for tests of the failure paths. Each one ends in the same phase and
 * plain words the kubernetes driver reports for the real thing.
 */
export const SIMULATED_FAULTS = [
  "image-pull",
  "quota",
  "crash-loop",
  "volume-pending",
  // The instance's Secret deleted behind our back (an operator, a cleanup tool): its pod
  // waits with CreateContainerConfigError until `recreateSecret` creates it again.
  "secret-missing",
] as const;
export type SimulatedFault = (typeof SIMULATED_FAULTS)[number];

/**
 * Catalog marker: a catalog entry whose default_env holds this variable
 * (value: one of SIMULATED_FAULTS) fails that way for every instance, so a
 * demo catalog entry can show a failure without touching code. Not
 * "secret-missing": a Secret is lost one instance at a time, and the repair
 * must be able to heal it (the dev route sets it).
 */
export const FAULT_ENV = "MINISPOD_SIMULATE_FAULT";

export const isSimulatedFault = (value: unknown): value is SimulatedFault =>
  typeof value === "string" && (SIMULATED_FAULTS as readonly string[]).includes(value);
