import type { BuildOptions } from "esbuild";

/** esbuild options for a single-file Node 24 ES module bundle (see bundle-options.mjs). */
export declare const nodeBundle: BuildOptions;
