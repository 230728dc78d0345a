import type { FunctionDefinition } from "@minispod/shared";
import { createApp, pagePaths } from "./app";
import { type PortalEnv, portalEnvSchema } from "./env";

/** portal: the customer's web app, pages and their browser code; data comes from the public API. */
export const portalFunction: FunctionDefinition<PortalEnv> = {
  name: "portal",
  routes: ["/assets", ...pagePaths],
  envSchema: portalEnvSchema,
  create: (ctx) => createApp(ctx),
};

export { PORTAL_CSP, pagePaths } from "./app";
export { matchPage, pages } from "./routes";
