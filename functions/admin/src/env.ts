import { baseEnvEntries, envField, processedEventsRetentionEntries } from "@minispod/shared";
import * as v from "valibot";

/**
 * admin: the common variables, the access token lifetime (how long a revocation
 * mark must live) and how long consumers remember handled events (dead letters
 * older than that are not replayed).
 */
export const adminEnvSchema = v.object({
  ...baseEnvEntries,
  ...processedEventsRetentionEntries,
  /** Same value as auth's: a disabled user's access tokens are refused for this long after disabling. */
  JWT_EXPIRES_IN: envField.duration("15m"),
});
export type AdminEnv = v.InferOutput<typeof adminEnvSchema>;
