// esbuild options for a single-file Node 24 ES module bundle, the form every
// function image runs (build-function.mjs) and the benches bundle their servers in.
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
};
