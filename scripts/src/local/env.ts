import { envField } from "@minispod/shared";
import * as v from "valibot";

/** What the local runner itself reads; each hosted function still parses its own schema. */
export const runnerEnvSchema = v.object({
  PORT: envField.port(3000),
  HOST: v.optional(v.string(), "127.0.0.1"),
  /** Where local state lives: PGlite files, the signing key, the dev mailbox. */
  DATA_DIR: v.optional(v.string(), ".data"),
  ADMIN_EMAIL: v.optional(
    v.pipe(v.string(), v.email("must be an email address")),
    "admin@minispod.local",
  ),
  ADMIN_PASSWORD: v.optional(v.pipe(v.string(), v.minLength(10, "must be at least 10 characters"))),
  /** Signing key shared by auth and every verifier; generated into DATA_DIR when unset. */
  JWT_PRIVATE_KEY: v.optional(envField.ed25519PrivateKey()),
  /** bcrypt cost for the admin's password (auth reads its own). */
  BCRYPT_COST: envField.int(12, 4, 31),
  /** Start PingSource schedules (cron sweeps). */
  LOCAL_CRON: envField.bool(true),
  LOG_LEVEL: envField.logLevel(),
});
export type RunnerEnv = v.InferOutput<typeof runnerEnvSchema>;
