import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

/**
 * The repository's TypeScript import graph, resolved the way our packages resolve:
 * relative specifiers (with or without `.js`/`.ts`, or a folder's `index.ts`) and
 * `@minispod/*` workspace packages through their package.json `exports`. Type-only
 * imports count: a circle of types still makes two modules impossible to read apart.
 *
 * @example
 *   const graph = importGraph(root);
 *   importCircles(graph); // [] when the tree has none
 */
export type ImportGraph = Map<string, string[]>;

const skippedDirs = new Set(["node_modules", "dist", ".turbo", ".data", ".bench", "coverage"]);

export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (skippedDirs.has(entry) || entry.startsWith(".")) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts|tsx)$/.test(entry) && !entry.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/** Every module specifier of a file: static and dynamic imports, re-exports. */
export function specifiers(code: string): string[] {
  const withoutComments = code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const found: string[] = [];
  const pattern = /(?:from\s*|import\s*\(\s*|import\s+|require\s*\(\s*)["']([^"']+)["']/g;
  for (const match of withoutComments.matchAll(pattern)) found.push(match[1]!);
  return found;
}

function resolveFile(base: string): string | undefined {
  const stripped = base.replace(/\.(js|mjs|ts)$/, "");
  for (const candidate of [base, `${stripped}.ts`, `${stripped}.mts`, join(base, "index.ts")]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

type Workspace = { dir: string; exports: Record<string, string> };

/** `@minispod/<name>` -> its folder and exports map, from the root package.json's workspaces. */
function workspaces(root: string): Map<string, Workspace> {
  const rootPkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    workspaces: string[];
  };
  const dirs: string[] = [];
  for (const pattern of rootPkg.workspaces) {
    if (pattern.endsWith("/*")) {
      const parent = join(root, pattern.slice(0, -2));
      for (const entry of readdirSync(parent)) dirs.push(join(parent, entry));
    } else dirs.push(join(root, pattern));
  }
  const out = new Map<string, Workspace>();
  for (const dir of dirs) {
    const file = join(dir, "package.json");
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, "utf8")) as {
      name: string;
      exports?: Record<string, string>;
    };
    out.set(pkg.name, { dir, exports: pkg.exports ?? { ".": "./src/index.ts" } });
  }
  return out;
}

function resolvePackage(spec: string, packages: Map<string, Workspace>): string | undefined {
  const match = spec.match(/^(@minispod\/[^/]+)(\/.*)?$/);
  if (!match) return undefined;
  const pkg = packages.get(match[1]!);
  if (!pkg) return undefined;
  const subpath = `.${match[2] ?? ""}`;
  const exact = pkg.exports[subpath];
  if (exact) return resolveFile(join(pkg.dir, exact));
  for (const [key, target] of Object.entries(pkg.exports)) {
    if (!key.endsWith("/*") || !subpath.startsWith(key.slice(0, -1))) continue;
    return resolveFile(join(pkg.dir, target.replace("*", subpath.slice(key.length - 1))));
  }
  return undefined;
}

/** The graph of every .ts file under `dirs` (relative to root), keyed by path from root. */
export function importGraph(root: string, dirs: string[]): ImportGraph {
  const packages = workspaces(root);
  const graph: ImportGraph = new Map();
  for (const file of dirs.flatMap((dir) => sourceFiles(join(root, dir)))) {
    const targets = new Set<string>();
    for (const spec of specifiers(readFileSync(file, "utf8"))) {
      const target = spec.startsWith(".")
        ? resolveFile(resolve(dirname(file), spec))
        : resolvePackage(spec, packages);
      if (target) targets.add(relative(root, target).split(sep).join("/"));
    }
    graph.set(relative(root, file).split(sep).join("/"), [...targets].sort());
  }
  return graph;
}

/** Strongly connected components of more than one module (or a module importing itself). */
export function importCircles(graph: ImportGraph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  // Iterative Tarjan: the tree is deep enough that recursion is not worth the risk.
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; next: number }> = [{ node: start, next: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const edges = graph.get(frame.node) ?? [];
      if (frame.next < edges.length) {
        const to = edges[frame.next++]!;
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        if (component.length > 1 || edges.includes(frame.node)) circles.push(component.sort());
      }
    }
  }
  return circles;
}
