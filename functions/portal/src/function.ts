import type { FunctionDefinition } from "@minispod/shared";
import { createApp } from "./app";
import { type PortalEnv, portalEnvSchema } from "./env";

/** portal: the customer's web app, pages and their browser code; data comes from the public API. */
export const portalFunction: FunctionDefinition<PortalEnv> = {
  name: "portal",
  // The site: every path the API functions do not claim (pages, /assets).
  routes: ["/"],
  envSchema: portalEnvSchema,
  create: (ctx) => createApp(ctx),
};

export { PORTAL_CSP, pagePaths } from "./app";
export { matchPage, pages } from "./routes";
