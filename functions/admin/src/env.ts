import { baseEnvEntries, envField } from "@minispod/shared";
import * as v from "valibot";

/** admin: the common variables, and the access token lifetime (how long a revocation mark must live). */
export const adminEnvSchema = v.object({
  ...baseEnvEntries,
  /** Same value as auth's: a disabled user's access tokens are refused for this long after disabling. */
  JWT_EXPIRES_IN: envField.duration("15m"),
});
export type AdminEnv = v.InferOutput<typeof adminEnvSchema>;
