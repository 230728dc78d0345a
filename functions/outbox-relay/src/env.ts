import { baseEnvEntries, envField } from "@minispod/shared";
import * as v from "valibot";

export const outboxRelayEnvSchema = v.object({
  ...baseEnvEntries,
  /** Most outbox rows sent per sweep. */
  OUTBOX_RELAY_BATCH: envField.int(200, 1, 5000),
});
export type OutboxRelayEnv = v.InferOutput<typeof outboxRelayEnvSchema>;
