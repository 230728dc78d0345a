import { envField } from "../env";

/**
 * `WEBHOOK_*` settings both webhook functions read (the API sends test pings
 * and manual redeliveries through the same path as the dispatcher). Spread
 * into a function's env schema.
 */
export const webhookEnvEntries = {
  /** Milliseconds one delivery attempt may take, connect to last byte. */
  WEBHOOK_TIMEOUT: envField.int(10_000, 100, 60_000),
  /** Local development only: allow http:// and private, loopback and link-local destinations. */
  WEBHOOK_ALLOW_PRIVATE: envField.bool(false),
  /** An endpoint failing without a single success for this long is disabled. */
  WEBHOOK_DISABLE_AFTER: envField.duration("5d"),
  /** How long the previous secret keeps signing after a rotation. */
  WEBHOOK_SECRET_ROTATION_OVERLAP: envField.duration("24h"),
};
