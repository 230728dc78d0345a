import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { applyPlan, planFunction, ScaffoldError } from "./new-function";

/**
 * `npm run new:function <name> [--public] [--no-install]`: writes
 * functions/<name> in the one layout and patches every file outside it that a
 * function needs (docs/adding-a-function.md), then links the new workspace.
 */
const usage = "usage: npm run new:function -- <name> [--public] [--no-install]";
const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith("--")));
const names = args.filter((a) => !a.startsWith("--"));
const unknown = [...flags].filter((f) => f !== "--public" && f !== "--no-install");
if (names.length !== 1 || unknown.length > 0) {
  console.error(unknown.length ? `unknown option ${unknown.join(", ")}\n${usage}` : usage);
  process.exit(2);
}
const root = fileURLToPath(new URL("../../../", import.meta.url));
const name = names[0]!;

try {
  const plan = planFunction(root, name, flags.has("--public"));
  applyPlan(root, plan);
  console.log(`wrote functions/${name}/:`);
  for (const path of plan.folder.keys()) console.log(`  ${path}`);
  console.log("wrote:");
  for (const path of plan.created.keys()) console.log(`  ${path}`);
  console.log("patched:");
  for (const path of plan.patched.keys()) console.log(`  ${path}`);
} catch (error) {
  if (!(error instanceof ScaffoldError)) throw error;
  console.error(`new:function: ${error.message}; nothing was written`);
  process.exit(1);
}

const install = ["install", "--no-audit", "--no-fund"];
if (flags.has("--no-install")) {
  console.log(`\nnext: npm ${install.join(" ")}   (links @minispod/fn-${name} into node_modules)`);
} else {
  console.log(`\nnpm ${install.join(" ")}`);
  const npm = spawnSync("npm", install, { cwd: root, stdio: "inherit" });
  if (npm.status !== 0) {
    console.error(`npm install failed: run \`npm ${install.join(" ")}\` yourself to link it.`);
    process.exit(1);
  }
}
console.log(
  `\nnext: cd functions/${name} && npx vitest run; npm run openapi:write (refreshes docs/openapi.json with the new routes); then describe it in its README.md (docs/adding-a-function.md).`,
);
