import { baseEnvEntries } from "@minispod/shared";
import * as v from "valibot";

/** catalog needs only the common variables: database, token verification, HTTP settings. */
export const catalogEnvSchema = v.object({ ...baseEnvEntries });
export type CatalogEnv = v.InferOutput<typeof catalogEnvSchema>;
