/**
 * `npm run bench -- ladder`: where /health/liveness spends its time against
 * bare node:http, one layer at a time. Each step is a small server
 * (`ladder/*.ts`, bundled like a function) that adds one thing to the one
 * before; the last is the auth function itself. Same load as the table
 * (server on one core, autocannon on the other), alternating rounds; it prints
 * req/s and the server's CPU time per request (steadier on a shared machine),
 * each as a ratio to bare node:http.
 *
 *   BENCH_ROUNDS (default 3), BENCH_SECONDS (default 5); --no-build reuses the bundles.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { nodeBundle } from "../../bundle-options.mjs";
import { cpuMs, load, machineLine, pinSelf, root, type Server, startServer } from "./harness";
import { median } from "./stats";
import { prepare } from "./table";

const here = join(root, "scripts/src/bench");
const out = join(root, "scripts/.bench/ladder");

const steps = [
  { name: "bare node:http", file: join(here, "baselines/bare-http.mjs") },
  { name: "+ the same response head (13 headers more)", entry: "bare-headers" },
  { name: "Hono on @hono/node-server, the route alone", entry: "hono" },
  { name: "+ one middleware (await next())", entry: "hono-middleware" },
  { name: "+ security headers and request id (FunctionResponse)", entry: "hono-headers" },
  { name: "createFunctionApp + serveApp, no routes of its own", entry: "function-app" },
  {
    name: "the auth function (production bundle)",
    file: join(root, "functions/auth/dist/main.mjs"),
  },
] as const;

export async function run(args: string[] = []) {
  pinSelf();
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  console.log(`machine: ${machineLine()}`);
  const { fnEnv } = await prepare({ build: !args.includes("--no-build") });
  mkdirSync(out, { recursive: true });
  const files = await Promise.all(
    steps.map(async (step) => {
      if ("file" in step) return step.file;
      const outfile = join(out, `${step.entry}.mjs`);
      await build({
        ...nodeBundle,
        entryPoints: [join(here, "ladder", `${step.entry}.ts`)],
        outfile,
      });
      return outfile;
    }),
  );
  const servers: Server[] = [];
  try {
    for (const [i, step] of steps.entries())
      servers.push(await startServer(step.name, [files[i]!], fnEnv));
    const path = "/health/liveness";
    for (const s of servers) await load(`${s.url}${path}`, { seconds: 2 });
    const rps: number[][] = servers.map(() => []);
    const cpu: number[][] = servers.map(() => []);
    console.log(`${rounds} rounds of ${seconds} s per step, order reversed every other round`);
    for (let round = 0; round < rounds; round++) {
      const order = servers.map((_, i) => i);
      if (round % 2 === 1) order.reverse();
      for (const i of order) {
        const s = servers[i]!;
        const before = cpuMs(s.proc.pid!);
        const result = await load(`${s.url}${path}`, { seconds });
        rps[i]!.push(result.rps);
        cpu[i]!.push(((cpuMs(s.proc.pid!) - before) * 1000) / (result.rps * seconds));
      }
      console.log(`  round ${round + 1}/${rounds} done`);
    }
    const bareRps = median(rps[0]!);
    const bareCpu = median(cpu[0]!);
    console.log(`\nGET ${path}, medians (ratio = bare node:http / step, 1.00 = as fast as bare)`);
    console.log(
      "| step | req/s | ratio | CPU µs/request | ratio | CPU added by the step |\n|---|---|---|---|---|---|",
    );
    let previous = bareCpu;
    for (const [i, step] of steps.entries()) {
      const r = median(rps[i]!);
      const c = median(cpu[i]!);
      // The auth function follows createFunctionApp, not its own step's predecessor's server.
      const added = i === 0 ? "" : `${c - previous >= 0 ? "+" : ""}${(c - previous).toFixed(1)} µs`;
      console.log(
        `| ${step.name} | ${Math.round(r).toLocaleString("en")} | ${(r / bareRps).toFixed(2)} | ${c.toFixed(1)} | ${(bareCpu / c).toFixed(2)} | ${added} |`,
      );
      // bare-headers is a side branch: Hono's steps build on bare node:http, not on it.
      previous = i === 1 ? bareCpu : c;
    }
    console.log(`machine after: ${machineLine()}`);
  } finally {
    for (const s of servers) await s.stop();
  }
}
