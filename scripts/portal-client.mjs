// Builds the portal's browser code (functions/portal/src/client) with esbuild:
// one JS module and one stylesheet, named by content hash, kept in memory.
// build-function.mjs embeds the result in the portal's server bundle; under
// tsx and vitest the portal builds it once on first use (src/assets.ts).
import { basename, join } from "node:path";

/**
 * @param {string} portalDir the functions/portal folder
 * @returns {Promise<{ script: string, style: string, files: Record<string, { type: string, body: string }> }>}
 */
export async function buildPortalClient(portalDir) {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [join(portalDir, "src/client/main.tsx"), join(portalDir, "src/client/portal.css")],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    jsx: "automatic",
    jsxImportSource: "hono/jsx/dom",
    entryNames: "[name]-[hash]",
    outdir: "/portal-assets",
    write: false,
    logLevel: "warning",
    legalComments: "none",
  });
  const files = {};
  let script = "";
  let style = "";
  for (const file of result.outputFiles) {
    const name = basename(file.path);
    const isJs = name.endsWith(".js");
    files[name] = {
      type: isJs ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8",
      body: file.text,
    };
    if (isJs) script = name;
    else style = name;
  }
  return { script, style, files };
}
