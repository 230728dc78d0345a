/**
 * `--profile`: a CPU profile of a bundled function under load (node
 * --cpu-prof), mapped through the bundle's source map, top frames printed.
 */
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { join, relative } from "node:path";
import { load, root, startServer } from "./harness";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

export async function profileUnderLoad(options: {
  bundle: string;
  env: Record<string, string>;
  url: string;
  headers: Record<string, string>;
  seconds: number;
}) {
  const dir = join(root, "scripts/.bench/profiles", String(Date.now()));
  mkdirSync(dir, { recursive: true });
  const server = await startServer("profiled", [options.bundle], options.env, {
    nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`],
  });
  await load(`${server.url}${options.url}`, { seconds: 2, headers: options.headers });
  const result = await load(`${server.url}${options.url}`, {
    seconds: options.seconds,
    headers: options.headers,
  });
  await server.stop(); // the profile is written at exit
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no profile written in ${dir}`);
  const path = join(dir, file);
  console.log(
    `\nCPU profile of ${options.url} at ${Math.round(result.rps)} req/s: ${relative(root, path)}`,
  );
  printTopFrames(JSON.parse(readFileSync(path, "utf8")) as CpuProfile, options.bundle);
}

/** Self and inclusive time by source function and by package, through the source map. */
export function printTopFrames(profile: CpuProfile, bundle: string, top = 25) {
  const map = new SourceMap(JSON.parse(readFileSync(`${bundle}.map`, "utf8")));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const hits = new Map<number, number>();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const total = profile.samples.length;

  const names = new Map<number, { frame: string; pkg: string }>();
  const nameOf = (n: ProfileNode) => {
    let named = names.get(n.id);
    if (named) return named;
    const { url, functionName, lineNumber, columnNumber } = n.callFrame;
    let frame = `${functionName || "(anonymous)"} ${url || "(native)"}`;
    let pkg = url ? (url.startsWith("node:") ? "node internals" : "other") : "(program/gc/idle)";
    if (url.endsWith("main.mjs")) {
      const entry = map.findEntry(lineNumber, columnNumber) as {
        originalSource?: string;
        originalLine?: number;
        name?: string;
      };
      if (entry.originalSource) {
        const source = entry.originalSource.replace(
          /^.*?(node_modules\/|functions\/|shared\/|db\/)/,
          "$1",
        );
        frame = `${entry.name ?? functionName ?? "(anonymous)"} ${source}:${(entry.originalLine ?? 0) + 1}`;
        const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
        pkg = m ? m[1]! : source.split("/").slice(0, 2).join("/");
      }
    }
    named = { frame, pkg };
    names.set(n.id, named);
    return named;
  };

  const self = new Map<string, number>();
  const inclusivePkg = new Map<string, number>();
  for (const [id, count] of hits) {
    const node = byId.get(id)!;
    const { frame } = nameOf(node);
    self.set(frame, (self.get(frame) ?? 0) + count);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const { pkg } = nameOf(byId.get(cur)!);
      if (!seen.has(pkg)) {
        seen.add(pkg);
        inclusivePkg.set(pkg, (inclusivePkg.get(pkg) ?? 0) + count);
      }
    }
  }
  const pct = (x: number) => `${((100 * x) / total).toFixed(1).padStart(5)}%`;
  console.log(`top ${top} frames by self time (${total} samples):`);
  for (const [frame, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`  ${pct(count)}  ${frame}`);
  console.log("inclusive time by package or source folder:");
  for (const [pkg, count] of [...inclusivePkg].sort((a, b) => b[1] - a[1]).slice(0, 15))
    console.log(`  ${pct(count)}  ${pkg}`);
}
