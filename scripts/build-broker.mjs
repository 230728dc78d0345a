// Bundles the broker service (scripts/src/broker/main.ts) and the compose
// stand-ins (scripts/src/compose/tools.ts: API gateway, mail catcher) into
// scripts/dist/broker/, with the manifests they follow, for its image
// (scripts/deploy/broker.Dockerfile): `node broker.mjs`, `node tools.mjs gateway`.
import { cpSync, mkdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { nodeBundle } from "./bundle-options.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(here, "dist", "broker");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  ...nodeBundle,
  entryPoints: {
    broker: join(here, "src", "broker", "main.ts"),
    tools: join(here, "src", "compose", "tools.ts"),
  },
  outdir: out,
  outExtension: { ".js": ".mjs" },
});
// The Triggers, PingSources and IngressRoute, read at start (BROKER_KNATIVE_DIR, GATEWAY_INGRESS_FILE).
cpSync(join(here, "..", "knative", "base"), join(out, "knative"), { recursive: true });
// The dev-only migrations: the broker creates its own queue table (MIGRATIONS_DEV_DIR).
cpSync(join(here, "..", "db", "migrations-dev"), join(out, "migrations-dev"), { recursive: true });
for (const name of ["broker.mjs", "tools.mjs"]) {
  console.log(`${name} ${(statSync(join(out, name)).size / 1024).toFixed(0)} KiB`);
}
