import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importCircles, importGraph } from "./support/import-graph";

// A function never imports another function (PRODUCT.md "Top-level layout"):
// shared code lives in shared/ packages. Only the local runner (scripts/) hosts them all.
const root = fileURLToPath(new URL("../../", import.meta.url));
const functionsDir = join(root, "functions");

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === "node_modules" || entry === "dist") continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|tsx|mts|js|mjs)$/.test(entry)) out.push(path);
  }
  return out;
}

/** Every module specifier of a file: static and dynamic imports, re-exports. */
function specifiers(code: string): string[] {
  const found: string[] = [];
  const pattern = /(?:from\s*|import\s*\(\s*|import\s+|require\s*\(\s*)["']([^"']+)["']/g;
  for (const match of code.matchAll(pattern)) found.push(match[1]!);
  return found;
}

/** The problems of one function folder: imports of another function, by name or by path. */
function crossFunctionImports(fnDir: string, functionsRoot = functionsDir): string[] {
  const own = JSON.parse(readFileSync(join(fnDir, "package.json"), "utf8")) as {
    name: string;
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const problems: string[] = [];
  for (const dep of Object.keys({ ...own.dependencies, ...own.devDependencies })) {
    if (dep.startsWith("@minispod/fn-") && dep !== own.name) {
      problems.push(`package.json depends on ${dep}`);
    }
  }
  for (const file of sourceFiles(fnDir)) {
    for (const spec of specifiers(readFileSync(file, "utf8"))) {
      const name = spec.match(/^(@minispod\/fn-[^/]+)/)?.[1];
      const escapes =
        spec.startsWith(".") &&
        resolve(file, "..", spec).startsWith(functionsRoot + sep) &&
        !resolve(file, "..", spec).startsWith(fnDir + sep);
      if ((name && name !== own.name) || escapes) {
        problems.push(`${relative(functionsRoot, file)} imports ${spec}`);
      }
    }
  }
  return problems;
}

describe("function boundaries", () => {
  const dirs = readdirSync(functionsDir)
    .map((name) => join(functionsDir, name))
    .filter((dir) => statSync(dir).isDirectory());

  it.each(dirs.map((dir) => [relative(root, dir), dir]))(
    "%s imports no other function",
    (_, dir) => {
      expect(crossFunctionImports(dir)).toEqual([]);
    },
  );

  it("catches another function's package, by name or by relative path, and allows its own", () => {
    const fixture = mkdtempSync(join(tmpdir(), "fn-boundaries-"));
    try {
      const fn = join(fixture, "sweeper");
      mkdirSync(join(fn, "src"), { recursive: true });
      mkdirSync(join(fixture, "billing", "src"), { recursive: true });
      writeFileSync(
        join(fn, "package.json"),
        JSON.stringify({
          name: "@minispod/fn-sweeper",
          dependencies: { "@minispod/fn-billing": "*" },
        }),
      );
      writeFileSync(
        join(fn, "src", "app.ts"),
        [
          `import { renew } from "@minispod/fn-billing/services";`,
          `export { x } from "../../billing/src/app";`,
          `import { own } from "@minispod/fn-sweeper";`,
          `import { local } from "./env";`,
          `import { shared } from "@minispod/billing";`,
        ].join("\n"),
      );
      expect(crossFunctionImports(fn, fixture)).toEqual([
        "package.json depends on @minispod/fn-billing",
        `${join("sweeper", "src", "app.ts")} imports @minispod/fn-billing/services`,
        `${join("sweeper", "src", "app.ts")} imports ../../billing/src/app`,
      ]);
    } finally {
      rmSync(fixture, { recursive: true, force: true });
    }
  });
});

// The shared packages stack in one direction (each README says so): db at the
// bottom, the kernel (shared) and cluster above it, then the domains. A package
// may import only those below it; no domain imports another domain sideways.
const layers: Record<string, { dir: string; may: string[] }> = {
  "@minispod/db": { dir: "db/src", may: [] },
  "@minispod/cluster": { dir: "shared/cluster/src", may: ["@minispod/db"] },
  "@minispod/shared": { dir: "shared/src", may: ["@minispod/db"] },
  "@minispod/webhooks": { dir: "shared/webhooks/src", may: ["@minispod/db", "@minispod/shared"] },
  "@minispod/instances": {
    dir: "shared/instances/src",
    may: ["@minispod/db", "@minispod/shared", "@minispod/cluster"],
  },
  "@minispod/billing": {
    dir: "shared/billing/src",
    may: ["@minispod/db", "@minispod/shared", "@minispod/cluster"],
  },
};

function layerProblems(name: string): string[] {
  const { dir, may } = layers[name]!;
  const problems: string[] = [];
  for (const file of sourceFiles(join(root, dir))) {
    for (const spec of specifiers(readFileSync(file, "utf8"))) {
      const target = spec.match(/^(@minispod\/[^/]+)/)?.[1];
      if (target && target !== name && !may.includes(target)) {
        problems.push(`${relative(root, file)} imports ${spec}`);
      }
    }
  }
  return problems;
}

describe("shared package layers", () => {
  it.each(Object.keys(layers))("%s imports only the packages below it", (name) => {
    expect(layerProblems(name)).toEqual([]);
  });

  it("has a README per shared package", () => {
    for (const { dir } of Object.values(layers)) {
      if (dir === "db/src") continue;
      expect(statSync(join(root, dir, "..", "README.md")).isFile(), dir).toBe(true);
    }
  });

  it("keeps each package's public surface a named list: no `export *` in an entry point, no wildcard export", () => {
    for (const { dir } of Object.values(layers)) {
      if (dir === "db/src") continue; // drizzle's schema module is the table list by design
      const pkg = JSON.parse(readFileSync(join(root, dir, "..", "package.json"), "utf8")) as {
        exports: Record<string, string>;
      };
      expect(
        Object.keys(pkg.exports).filter((key) => key.includes("*")),
        dir,
      ).toEqual([]);
      const entries = Object.values(pkg.exports).map((file) => join(root, dir, "..", file));
      const stars = entries.filter((file) => /^export \* from/m.test(readFileSync(file, "utf8")));
      expect(
        stars.map((file) => relative(root, file)),
        dir,
      ).toEqual([]);
    }
  });
});

// Every package and script of the tree, read as one import graph (types included):
// a circle makes two modules impossible to understand, test or move apart.
const treeDirs = ["db", "shared", "functions", "scripts"];

describe("import circles", () => {
  it("the whole tree has none", () => {
    expect(importCircles(importGraph(root, treeDirs))).toEqual([]);
  });

  it("finds a circle through a type import, a folder index and a workspace package", () => {
    const graph = new Map([
      ["a.ts", ["b/index.ts"]],
      ["b/index.ts", ["c.ts"]],
      ["c.ts", ["a.ts", "d.ts"]],
      ["d.ts", []],
      ["self.ts", ["self.ts"]],
    ]);
    expect(importCircles(graph)).toEqual([["a.ts", "b/index.ts", "c.ts"], ["self.ts"]]);
  });

  it("resolves relative and @minispod/* specifiers of real files", () => {
    const graph = importGraph(root, ["shared/src"]);
    expect(graph.get("shared/src/auth.ts")).toContain("shared/src/app-env.ts");
    expect(graph.get("shared/src/auth.ts")).toContain("db/src/index.ts");
  });
});
