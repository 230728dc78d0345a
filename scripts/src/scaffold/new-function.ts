import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { functionFolders } from "./layout";
import * as t from "./templates";

/** What `npm run new:function` writes (new files) and rewrites (existing ones), by repository path. */
export interface ScaffoldPlan {
  names: t.FunctionNames;
  /** Files of the new folder `functions/<name>/`, relative to it. */
  folder: Map<string, string>;
  /** New files outside the folder. */
  created: Map<string, string>;
  /** Existing files, with their new content. */
  patched: Map<string, string>;
}

export class ScaffoldError extends Error {}

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Why `name` cannot be a new function, or undefined when it can. */
export function nameProblem(root: string, name: string): string | undefined {
  if (!NAME.test(name)) return `"${name}" is not kebab-case (a-z, 0-9, single dashes)`;
  if (name.length > 30) return `"${name}" is longer than 30 characters`;
  if (existsSync(join(root, "functions", name))) return `functions/${name} already exists`;
  if (existsSync(join(root, "knative", "base", "functions", `${name}.yaml`)))
    return `knative/base/functions/${name}.yaml already exists`;
  const ingress = readFileSync(join(root, "knative", "base", "api-ingress.yaml"), "utf8");
  if (ingress.includes(`PathPrefix(\`/api/v1/${name}\`)`))
    return `/api/v1/${name} is already routed (knative/base/api-ingress.yaml)`;
  return undefined;
}

/** hono, valibot and vitest as the existing functions pin them. */
function pinsOf(root: string): t.Pins {
  const found: Partial<t.Pins> = {};
  for (const folder of functionFolders(join(root, "functions"))) {
    const file = join(root, "functions", folder, "package.json");
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, "utf8")) as Record<string, Record<string, string>>;
    const all = { ...pkg.dependencies, ...pkg.devDependencies };
    for (const dep of ["hono", "valibot", "vitest"] as const) found[dep] ??= all[dep];
  }
  for (const dep of ["hono", "valibot", "vitest"] as const)
    if (!found[dep]) throw new ScaffoldError(`no existing function pins ${dep}`);
  return found as t.Pins;
}

function lines(text: string): string[] {
  return text.split("\n");
}

/** The module a line imports from (`"@minispod/fn-auth"`), or the line itself. */
const sortKey = (line: string) => /from "([^"]+)"/.exec(line)?.[1] ?? line;

/** Inserts `entry` into the sorted run of lines matching `inRun`, keeping the run sorted. */
function insertSorted(text: string, inRun: (line: string) => boolean, entry: string, what: string) {
  const all = lines(text);
  const run = all.flatMap((line, i) => (inRun(line) ? [i] : []));
  if (run.length === 0) throw new ScaffoldError(`cannot find ${what}`);
  const after = run.find((i) => sortKey(all[i]!) > sortKey(entry));
  all.splice(after ?? run.at(-1)! + 1, 0, entry);
  return all.join("\n");
}

function patchLocalRunner(text: string, n: t.FunctionNames): string {
  const imported = insertSorted(
    text,
    (line) => /^import \{ \w+ \} from "@minispod\/fn-/.test(line),
    `import { ${n.camel}Function } from "@minispod/fn-${n.name}";`,
    "the function imports of scripts/src/local/functions.ts",
  );
  const all = lines(imported);
  const end = all.lastIndexOf("];");
  if (end < 0 || !all.some((l) => l.startsWith("export const functions")))
    throw new ScaffoldError("cannot find the `functions` list in scripts/src/local/functions.ts");
  all.splice(end, 0, `  ${n.camel}Function,`);
  return all.join("\n");
}

function patchScriptsPackage(text: string, n: t.FunctionNames): string {
  const all = lines(text);
  const start = all.indexOf('  "dependencies": {');
  const end = all.indexOf("  },", start);
  if (start < 0 || end < 0)
    throw new ScaffoldError("cannot find scripts/package.json dependencies");
  const entry = `    "@minispod/fn-${n.name}": "*",`;
  const at = all.slice(start + 1, end).findIndex((line) => line > entry);
  // Every dependency but the last ends with a comma; the new one never goes last
  // (it sorts before the third-party names that follow @minispod/*).
  if (at < 0) throw new ScaffoldError("cannot place the dependency in scripts/package.json");
  all.splice(start + 1 + at, 0, entry);
  return all.join("\n");
}

function patchKustomization(text: string, n: t.FunctionNames): string {
  const all = lines(text);
  const last = all.findLastIndex((line) => line.startsWith("  - functions/"));
  if (last < 0)
    throw new ScaffoldError("cannot find functions/ in knative/base/kustomization.yaml");
  all.splice(last + 1, 0, `  - functions/${n.name}.yaml`);
  return all.join("\n");
}

function patchIngress(text: string, n: t.FunctionNames): string {
  const all = lines(text);
  const tls = all.indexOf("  tls:");
  const host = /Host\(`([^`]+)`\)/.exec(text)?.[1];
  if (tls < 0 || !host) throw new ScaffoldError("cannot find the route table of api-ingress.yaml");
  all.splice(tls, 0, ...lines(t.ingressRule(n, host).trimEnd()));
  return `${all.join("\n").trimEnd()}\n${t.ingressMiddleware(n)}`;
}

/** Adds `minispod/fn-<name>` to an overlay's `images:`, with the registry and tag of the others. */
function patchOverlay(text: string, n: t.FunctionNames, overlay: string): string {
  const all = lines(text);
  const images = all.indexOf("images:");
  const first = /^ {4}newName: (.+)\/minispod\/fn-[a-z0-9-]+$/.exec(all[images + 2] ?? "");
  const tag = /^ {4}newTag: (.+)$/.exec(all[images + 3] ?? "");
  if (images < 0 || !first || !tag)
    throw new ScaffoldError(`cannot read the images: list of knative/overlays/${overlay}`);
  let end = images + 1;
  while (end < all.length && /^ {2}[- ] /.test(all[end]!)) end++;
  all.splice(
    end,
    0,
    `  - name: minispod/fn-${n.name}`,
    `    newName: ${first[1]}/minispod/fn-${n.name}`,
    `    newTag: ${tag[1]}`,
  );
  return all.join("\n");
}

function patchEnvExample(text: string, n: t.FunctionNames): string {
  const at = text.indexOf("# --- tests ");
  const section = t.envExampleSection(n);
  return at < 0
    ? `${text.trimEnd()}\n\n${section.trimEnd()}\n`
    : text.slice(0, at) + section + text.slice(at);
}

/** Everything the new function needs, computed before anything is written. */
export function planFunction(root: string, name: string, isPublic: boolean): ScaffoldPlan {
  const problem = nameProblem(root, name);
  if (problem) throw new ScaffoldError(problem);
  const n = t.namesOf(name, isPublic);
  const folder = new Map<string, string>([
    ["package.json", t.packageJson(n, pinsOf(root))],
    ["README.md", t.readme(n)],
    ["tsconfig.json", t.tsconfigJson],
    ["vitest.config.ts", t.vitestConfig(n)],
    ["src/env.ts", t.envTs(n)],
    ["src/deps.ts", t.depsTs(n)],
    ["src/function.ts", t.functionTs(n)],
    ["src/app.ts", t.appTs(n)],
    ["src/main.ts", t.mainTs(n)],
    [`test/${name}.test.ts`, t.testTs(n)],
  ]);
  if (isPublic) {
    folder.set(`src/routes/${name}.ts`, t.routeTs(n));
    folder.set("src/routes/openapi.ts", t.openapiTs(n));
  }
  const read = (path: string) => readFileSync(join(root, path), "utf8");
  const patched = new Map<string, string>();
  const patch = (path: string, change: (text: string) => string) =>
    patched.set(path, change(patched.get(path) ?? read(path)));
  patch("scripts/src/local/functions.ts", (s) => patchLocalRunner(s, n));
  patch("scripts/package.json", (s) => patchScriptsPackage(s, n));
  patch("knative/base/kustomization.yaml", (s) => patchKustomization(s, n));
  if (isPublic) patch("knative/base/api-ingress.yaml", (s) => patchIngress(s, n));
  for (const overlay of readdirSync(join(root, "knative", "overlays")).sort()) {
    const path = `knative/overlays/${overlay}/kustomization.yaml`;
    if (existsSync(join(root, path))) patch(path, (s) => patchOverlay(s, n, overlay));
  }
  patch(".env.example", (s) => patchEnvExample(s, n));
  const created = new Map([[`knative/base/functions/${name}.yaml`, t.serviceYaml(n)]]);
  return { names: n, folder, created, patched };
}

/**
 * Writes a plan all or nothing: the folder is staged beside its place and
 * moved in last; on any failure the created files are removed and the patched
 * ones get their old content back.
 */
export function applyPlan(root: string, plan: ScaffoldPlan): void {
  const target = join(root, "functions", plan.names.name);
  const staging = mkdtempSync(join(root, "functions", `.new-${plan.names.name}-`));
  const created: string[] = [];
  const originals = new Map<string, string>();
  const write = (path: string, text: string) => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.scaffold-tmp`, text);
    renameSync(`${path}.scaffold-tmp`, path);
  };
  try {
    for (const [path, text] of plan.folder) write(join(staging, path), text);
    for (const [path, text] of plan.created) {
      if (existsSync(join(root, path))) throw new ScaffoldError(`${path} already exists`);
      created.push(path);
      write(join(root, path), text);
    }
    for (const [path, text] of plan.patched) {
      originals.set(path, readFileSync(join(root, path), "utf8"));
      write(join(root, path), text);
    }
    renameSync(staging, target);
  } catch (error) {
    for (const [path, text] of originals) writeFileSync(join(root, path), text);
    for (const path of created) rmSync(join(root, path), { force: true });
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}
