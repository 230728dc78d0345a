// Bundles one function (the package in the current directory) into
// dist/main.mjs with esbuild, plus the database migrations it applies, so the
// container image holds a single file and no node_modules but native addons.
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { nodeBundle } from "./bundle-options.mjs";
import { buildPortalClient } from "./portal-client.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync("package.json", "utf8"));
// Native addons cannot be bundled; the image installs them (see Dockerfile).
const external = ["@node-rs/bcrypt"];

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist", { recursive: true });
// The portal serves its browser code from memory: built here and embedded in the bundle.
const portal = existsSync("src/client/main.tsx")
  ? await buildPortalClient(process.cwd())
  : undefined;
const result = await build({
  ...nodeBundle,
  ...(portal
    ? {
        define: {
          ...nodeBundle.define,
          __MINISPOD_PORTAL_ASSETS__: JSON.stringify(portal),
        },
      }
    : {}),
  entryPoints: ["src/main.ts"],
  outfile: "dist/main.mjs",
  sourcemap: "linked",
  external,
  metafile: true,
});
// Every image can run the migration Job: dist/migrate.mjs with MIGRATIONS_DIR=dist/migrations.
await build({
  ...nodeBundle,
  entryPoints: [join(root, "scripts", "src", "migrate.ts")],
  outfile: "dist/migrate.mjs",
});
cpSync(join(root, "db", "migrations"), "dist/migrations", { recursive: true });
const natives = external.filter((name) => pkg.dependencies?.[name]);
writeFileSync(
  "dist/natives.json",
  JSON.stringify(Object.fromEntries(natives.map((n) => [n, pkg.dependencies[n]]))),
);
const size = statSync("dist/main.mjs").size;
console.log(
  `${pkg.name}: dist/main.mjs ${(size / 1024).toFixed(0)} KiB, ${Object.keys(result.metafile.inputs).length} modules`,
);
