import { billingEnvEntries, paymentEnvEntries } from "@minispod/billing";
import { baseEnvEntries } from "@minispod/shared";
import * as v from "valibot";

export const subscriptionsEnvSchema = v.object({
  ...baseEnvEntries,
  ...billingEnvEntries,
  ...paymentEnvEntries,
});
export type SubscriptionsEnv = v.InferOutput<typeof subscriptionsEnvSchema>;
