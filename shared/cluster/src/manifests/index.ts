export {
  CERTIFICATE_API_VERSION,
  COMPONENT_LABEL,
  certificateManifest,
  certificateName,
  certificateSecretName,
  DOMAIN_ANNOTATION,
  DOMAIN_COMPONENT,
  domainsIngressManifest,
  domainsIngressName,
} from "./domains";
export {
  DEFAULT_UID,
  deploymentManifest,
  generateSecretValue,
  ingressManifest,
  instanceLabels,
  instanceManifests,
  instanceSelector,
  pvcManifest,
  secretManifest,
  serviceManifest,
} from "./instance";
export {
  ALLOW_INTERNET,
  limitRangeManifest,
  type NamespacedManifest,
  namespaceManifest,
  namespaceManifests,
  networkPolicyManifests,
  resourceQuotaManifest,
  serviceAccountManifests,
  WORKLOAD_SERVICE_ACCOUNT,
} from "./namespace";
export {
  bytes,
  cpuMillis,
  formatBytes,
  formatCpu,
} from "./quantities";
