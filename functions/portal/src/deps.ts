import type { FunctionContext } from "@minispod/shared";
import type { PortalEnv } from "./env";

/** What the function is built from: `main.ts` makes it once, tests make their own. */
export type PortalDeps = FunctionContext<PortalEnv>;
