import { baseEnvEntries } from "@minispod/shared";
import * as v from "valibot";

/** The portal reads only the common variables: it serves pages and talks to the API from the browser. */
export const portalEnvSchema = v.object({ ...baseEnvEntries });
export type PortalEnv = v.InferOutput<typeof portalEnvSchema>;
