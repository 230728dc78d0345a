/**
 * The kernel every function stands on: the app factory, auth, errors, validation,
 * events (outbox, consumer, trace), logging, metrics, OpenAPI, rate limits and
 * start-up. A short, named surface: what no other package imports stays private.
 * Webhooks live in @minispod/webhooks; payments and business figures in @minispod/billing.
 */
export {
  API_VERSION,
  createFunctionApp,
} from "./app";
export type { AppEnv } from "./app-env";
export {
  type Actor,
  type AuditEntry,
  actorOf,
  canReach,
  listOwner,
  recordAudit,
  recordAudits,
  systemActor,
  type UserActor,
} from "./audit";
export {
  isAdmin,
  requireAuth,
  requireRole,
} from "./auth";
export { mapLimit } from "./concurrency";
export {
  randomToken,
  sha256,
} from "./crypto";
export {
  DOCS_CSP,
  docsRoutes,
} from "./docs";
export {
  type BaseEnv,
  baseEnvEntries,
  baseEnvSchema,
  EnvError,
  envField,
  parseDuration,
  parseEnv,
} from "./env";
export {
  AppError,
  handleError,
  problemOf,
} from "./errors";
export { checkIfMatch, ifMatchOf, versionTag } from "./etag";
export {
  customerFacingTypes,
  type EventData,
  type EventType,
  eventCatalogue,
  fullType,
  shortType,
} from "./events/catalogue";
export {
  cronRoutes,
  type EventContext,
  type EventHandlers,
  eventRoutes,
  PermanentEventError,
  readCloudEvent,
} from "./events/consumer";
export {
  discardDeadLetter,
  listDeadLetters,
  replayDeadLetters,
  showDeadLetter,
} from "./events/dead-letters";
export {
  type ConsumeLabel,
  consumeCounter,
  eventMetrics,
  eventTypeLabel,
} from "./events/metrics";
export {
  enqueueEvent,
  enqueueEvents,
  relayOutbox,
} from "./events/outbox";
export {
  type CloudEventMessage,
  type EventPublisher,
  memoryPublisher,
  toBinaryHttp,
} from "./events/publisher";
export {
  eventPurgeCounter,
  processedEventsRetentionEntries,
  purgeProcessedEvents,
  purgePublishedEvents,
} from "./events/retention";
export {
  currentTrace,
  currentTraceparent,
  formatTraceparent,
  newTrace,
  parseTraceparent,
  withTrace,
} from "./events/trace";
export {
  type AuthClaims,
  createTokenSigner,
  exportKeyPem,
  generateSigningKey,
  publicKeyFromPem,
  signingKeyFromPem,
  type TokenSigner,
  type TokenVerifier,
  verifierFromConfig,
} from "./jwt";
export {
  createLogger,
  type Logger,
} from "./logger";
export {
  createMetrics,
  type Metrics,
  perRegistry,
} from "./metrics";
export {
  describeRoute,
  documentAs,
  documentGaps,
  listOf,
  mergeOpenApi,
  named,
  type OpenApiDocument,
} from "./openapi";
export {
  keyset,
  newestFirst,
  type Page,
  type PageQuery,
  pageQuery,
} from "./pagination";
export {
  clientIp,
  enforceRateLimit,
  rateLimit,
} from "./rate-limit";
export {
  revokeUserTokens,
  withRevocation,
} from "./revocation";
export {
  baseApp,
  buildContext,
  checkConnections,
  createEventSender,
  createInfrastructure,
  type EventSender,
  type FunctionContext,
  type FunctionDefinition,
  type Infrastructure,
} from "./runtime";
export { developmentKeyring, type Keyring, openSecret, parseKeyring, sealSecret } from "./sealed";
export {
  runStandalone,
  serveApp,
} from "./serve";
export {
  exitOnStartupFailure,
  networkReason,
  StartupError,
  withDeadline,
} from "./startup";
export {
  type KeyValueStore,
  memoryStore,
  type RateLimiter,
} from "./store";
export {
  fields,
  idParam,
  jsonBody,
  parseOrThrow,
  pathParams,
  queryParams,
} from "./validation";
