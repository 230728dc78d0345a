// esbuild options for a single-file Node 24 ES module bundle, the form every
// function image runs (build-function.mjs) and the benches bundle their servers in.
//
// A bundle must carry everything it reads at run time: an image holds the
// bundle, its migrations and native addons, and no node_modules to resolve a
// package from (scripts/test/bundle-isolation.test.ts starts each one alone).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

// Resolved from the shared workspace, which depends on swagger-ui-dist.
const fromShared = createRequire(new URL("../shared/package.json", import.meta.url));
const swaggerUiDir = dirname(fromShared.resolve("swagger-ui-dist/package.json"));
const swaggerUi = {
  version: JSON.parse(readFileSync(join(swaggerUiDir, "package.json"), "utf8")).version,
  files: Object.fromEntries(
    ["swagger-ui-bundle.js", "swagger-ui.css"].map((f) => [
      f,
      readFileSync(join(swaggerUiDir, f), "utf8"),
    ]),
  ),
};

export const nodeBundle = {
  bundle: true,
  platform: "node",
  target: "node24",
  format: "esm",
  minify: true,
  logLevel: "warning",
  // Some dependencies still call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  // /docs's Swagger UI files (shared/src/docs.ts reads node_modules only when not bundled).
  define: { __MINISPOD_SWAGGER_UI__: JSON.stringify(swaggerUi) },
};
