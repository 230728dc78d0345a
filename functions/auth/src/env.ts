import { baseEnvEntries, envField } from "@minispod/shared";
import * as v from "valibot";

export const authEnvSchema = v.object({
  ...baseEnvEntries,
  /** Ed25519 private key, PKCS#8 PEM. Only the auth function holds it. */
  JWT_PRIVATE_KEY: envField.ed25519PrivateKey(),
  /** Access token lifetime (seed name JWT_EXPIRES_IN). */
  JWT_EXPIRES_IN: envField.duration("15m"),
  JWT_REFRESH_EXPIRES_IN: envField.duration("30d"),
  /** bcrypt cost; 12 or more in production. */
  BCRYPT_COST: envField.int(12, 4, 31),
  PASSWORD_RESET_TTL: envField.duration("1h"),
  EMAIL_VERIFICATION_TTL: envField.duration("48h"),
  /** Attempts per window per client address (and per email for login). */
  AUTH_RATE_LIMIT_LOGIN: envField.int(10, 1),
  AUTH_RATE_LIMIT_REGISTER: envField.int(5, 1),
  AUTH_RATE_LIMIT_RESET: envField.int(5, 1),
  AUTH_RATE_LIMIT_WINDOW: envField.duration("15m"),
});
export type AuthEnv = v.InferOutput<typeof authEnvSchema>;
