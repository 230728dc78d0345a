import type { FunctionContext } from "@minispod/shared";
import type { CatalogEnv } from "./env";

/** What the function is built from: `main.ts` makes it once, tests make their own. */
export type CatalogDeps = FunctionContext<CatalogEnv>;
