export {
  type BackupDto,
  backupDto,
  backupsUnsupportedDetail,
  countBackupFailures,
  countPreflightRefusal,
  declareBackupMetrics,
  instanceVolumeOf,
  listBackupRows,
} from "./backups";
export { clusterFromEnv } from "./cluster";
export {
  CREDENTIALS_KEY_IN_PRODUCTION,
  credentialsEnvEntries,
  credentialsKeyAllowed,
  credentialsOf,
  ensureCredentials,
  keyringOf,
  readCredential,
  readCredentials,
  rotateCredential,
} from "./credentials";
export {
  CHALLENGE_LABEL,
  challengeName,
  checkOwnership,
  createDomainResolver,
  type DomainCheck,
  type DomainResolver,
  domainEnvEntries,
  newChallengeToken,
  normalizeDomain,
  type OwnershipCheck,
} from "./domain-names";
export {
  convergeDomains,
  type DomainDto,
  type DomainRow,
  domainDto,
  eventData as domainEventData,
  loadDomainInstance,
  recordOwnershipCheck,
  setDomainState,
  TAKEN_REASON,
  verdictOf as domainVerdictOf,
} from "./domains";
export {
  CLUSTER_IN_PRODUCTION,
  clusterAllowed,
  clusterEnvEntries,
} from "./env";
export {
  countFailures,
  declareInstanceMetrics,
} from "./metrics";
export {
  appSpecOf,
  IN_CLUSTER,
  type InstanceRecord,
  loadRecord,
  namespaceSpecOf,
  refOf,
  selectRecords,
} from "./spec";
export {
  MEANT_TO_RUN,
  observedTransition,
  recordTransition,
  syncObserved,
  type Transition,
} from "./status";
