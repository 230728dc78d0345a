import { AppError, baseApp } from "@minispod/shared";
import { portalAssets } from "./assets";
import type { PortalDeps } from "./deps";
import { matchPage, pages } from "./routes";
import { Shell } from "./shell";

export type { PortalDeps } from "./deps";

/**
 * Strict: only this origin's hashed files run, no inline script or style, no
 * eval, no framing; the API is the only thing the pages talk to.
 */
export const PORTAL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Every page path, for the local runner's routing and the Knative route. */
export const pagePaths = pages.map((p) => p.path);

export function createApp(deps: PortalDeps) {
  const app = baseApp(deps);
  app.get("/assets/:file", async (c) => {
    const file = (await portalAssets()).files[c.req.param("file")];
    if (!file) throw new AppError("NOT_FOUND", { detail: "No such asset." });
    c.header("content-type", file.type);
    // Names carry a content hash: a new build is a new name.
    c.header("cache-control", "public, max-age=31536000, immutable");
    return c.body(file.body);
  });
  for (const path of new Set(pagePaths)) {
    app.get(path, async (c) => {
      const matched = matchPage(c.req.path);
      if (!matched) throw new AppError("NOT_FOUND", { detail: "No such page." });
      const { script, style } = await portalAssets();
      c.header("content-security-policy", PORTAL_CSP);
      // Reset and verification tokens travel in the query: never in a Referer.
      c.header("referrer-policy", "no-referrer");
      c.header("cache-control", "no-store");
      c.header("x-content-type-options", "nosniff");
      return c.html(`<!doctype html>${Shell({ page: matched.page, script, style })}`);
    });
  }
  return app;
}
