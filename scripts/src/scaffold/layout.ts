import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

/** The folders under functions/ (each one a function). */
export function functionFolders(functionsDir: string): string[] {
  return readdirSync(functionsDir)
    .filter((name) => statSync(join(functionsDir, name)).isDirectory())
    .sort();
}

/** Files every function has, beside its `test/` folder of `*.test.ts`. */
export const requiredFiles = [
  "package.json",
  "README.md",
  "tsconfig.json",
  "vitest.config.ts",
  "src/deps.ts",
  "src/env.ts",
  "src/function.ts",
  "src/app.ts",
  "src/main.ts",
];

/** `src/main.ts`, all of it: the definition run on the process's environment. */
const mainPattern =
  /^import \{ runStandalone \} from "@minispod\/shared";\nimport \{ (\w+) \} from "\.\/function";\n\nawait runStandalone\(\1, process\.env\);\n$/;

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else if (entry.endsWith(".ts")) out.push(path);
  }
  return out;
}

/**
 * What keeps one function folder from the one layout (docs/adding-a-function.md):
 * missing files, a `main.ts` that does more than run the definition, no test
 * file, routers built outside `src/routes/`, a `routes/notes.ts`, and a module
 * taking its `*Deps` type from `app.ts` instead of `deps.ts`.
 */
export function layoutProblems(fnDir: string, folder = fnDir.split(/[\\/]/).pop()!): string[] {
  const problems: string[] = [];
  const at = (path: string) => join(fnDir, path);
  if (existsSync(at("package.json"))) {
    const { name } = JSON.parse(readFileSync(at("package.json"), "utf8")) as { name?: string };
    if (name !== `@minispod/fn-${folder}`)
      problems.push(`package.json: name is "${name}", must be "@minispod/fn-${folder}"`);
  }
  for (const file of requiredFiles) if (!existsSync(at(file))) problems.push(`missing ${file}`);
  if (existsSync(at("src/main.ts")) && !mainPattern.test(readFileSync(at("src/main.ts"), "utf8")))
    problems.push(
      "src/main.ts must be only `await runStandalone(<definition>, process.env)` (with its two imports)",
    );
  if (!filesUnder(at("test")).some((file) => file.endsWith(".test.ts")))
    problems.push("test/ has no *.test.ts");

  const app = resolve(at("src/app"));
  for (const file of filesUnder(at("src"))) {
    const path = relative(fnDir, file).split("\\").join("/");
    const code = readFileSync(file, "utf8");
    if (path !== "src/app.ts" && !path.startsWith("src/routes/") && /\bnew Hono\b/.test(code))
      problems.push(`${path} builds routes outside src/routes/`);
    if (path === "src/routes/notes.ts")
      problems.push(`${path}: OpenAPI notes live in src/routes/openapi.ts (or inline)`);
    const named = /(?:import|export)\s+(?:type\s+)?\{([^}]*)\}\s*from\s*["']([^"']+)["']/g;
    for (const [, names, spec] of code.matchAll(named)) {
      if (!spec!.startsWith(".") || resolve(file, "..", spec!).replace(/\.ts$/, "") !== app)
        continue;
      for (const deps of names!.match(/\b\w+Deps\b/g) ?? [])
        problems.push(`${path} imports ${deps} from ${spec}; the deps type comes from deps.ts`);
    }
  }
  return problems;
}
