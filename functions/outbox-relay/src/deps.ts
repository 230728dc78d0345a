import type { FunctionContext } from "@minispod/shared";
import type { OutboxRelayEnv } from "./env";

/** What the function is built from: `main.ts` makes it once, tests make their own. */
export type OutboxRelayDeps = FunctionContext<OutboxRelayEnv>;
