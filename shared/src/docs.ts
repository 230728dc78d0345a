import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Hono } from "hono";
import { AppError } from "./errors";

/**
 * The interactive API reference, served offline: Swagger UI's assets come from
 * the `swagger-ui-dist` npm package (pinned in package.json) through the
 * function itself, so `/docs` works on a machine that reaches no CDN. The page
 * carries a CSP that allows exactly what the UI needs: its own script and
 * stylesheet, the same-origin OpenAPI document, and data: images (the UI's
 * icons are inline SVG data URLs).
 */

/** Swagger UI's version and the two text files the page loads. */
export interface SwaggerUiFiles {
  version: string;
  files: Record<string, string>;
}

/**
 * Bundles embed the files (scripts/bundle-options.mjs defines this), because
 * an image holds the bundle and no node_modules to resolve a package from.
 */
declare const __MINISPOD_SWAGGER_UI__: SwaggerUiFiles | undefined;

const assets: Record<string, { file: string; type: string }> = {
  "swagger-ui-bundle.js": { file: "swagger-ui-bundle.js", type: "text/javascript; charset=utf-8" },
  "swagger-ui.css": { file: "swagger-ui.css", type: "text/css; charset=utf-8" },
};

let loaded: SwaggerUiFiles | undefined;
/** From the bundle when embedded, else read once from node_modules (tsx, tests). */
function swaggerUi(): SwaggerUiFiles {
  if (typeof __MINISPOD_SWAGGER_UI__ !== "undefined") return __MINISPOD_SWAGGER_UI__;
  if (!loaded) {
    const require = createRequire(import.meta.url);
    const packageDir = dirname(require.resolve("swagger-ui-dist/package.json"));
    const { version } = require("swagger-ui-dist/package.json") as { version: string };
    const files = Object.fromEntries(
      Object.values(assets).map(({ file }) => [file, readFileSync(join(packageDir, file), "utf8")]),
    );
    loaded = { version, files };
  }
  return loaded;
}

// The initialiser is a file, not an inline script, so the CSP needs no 'unsafe-inline'.
const initScript = `"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: "none",
    tryItOutEnabled: false,
  });
});
`;

export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!,
  );

/** The reference page over `specUrl`; asset URLs carry the UI version, so they cache forever. */
export function referencePage(specUrl: string, title: string): string {
  const base = `docs/assets/${swaggerUi().version}`;
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${base}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-url="${escapeHtml(specUrl)}"></div>
<script src="${base}/swagger-ui-bundle.js"></script>
<script src="${base}/init.js"></script>
</body>
</html>`;
}

/**
 * `GET /docs` and its assets under `/docs/assets/<version>/`. Mounted at the
 * root of a function (and of the local runner), next to `/openapi.json`.
 *
 * @example
 * app.route("/", docsRoutes("openapi.json", "minispod auth API"));
 */
export function docsRoutes(specUrl: string, title: string): Hono {
  const docs = new Hono();
  const page = referencePage(specUrl, title);
  const { version: uiVersion, files } = swaggerUi();
  docs.get("/docs", (c) => {
    c.header("content-security-policy", DOCS_CSP);
    return c.html(page);
  });
  // The page's links are relative to `/docs`: the trailing-slash spelling is sent there.
  docs.get("/docs/", (c) => c.redirect("../docs", 301));
  docs.get("/docs/assets/:version/:file", (c) => {
    const { version, file } = c.req.param();
    const immutable = "public, max-age=31536000, immutable";
    if (version === uiVersion && file === "init.js") {
      c.header("content-type", "text/javascript; charset=utf-8");
      c.header("cache-control", immutable);
      return c.body(initScript);
    }
    const known = version === uiVersion ? assets[file] : undefined;
    const body = known ? files[known.file] : undefined;
    if (!known || body === undefined)
      throw new AppError("NOT_FOUND", { detail: `No asset ${file} of version ${version}.` });
    c.header("content-type", known.type);
    c.header("cache-control", immutable);
    return c.body(body);
  });
  return docs;
}
