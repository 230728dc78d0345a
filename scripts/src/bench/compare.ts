/**
 * `npm run bench -- compare liveness|me|me-express|services`: one row of the
 * main table alone (same servers, same alternating rounds), for quick checks
 * while working on a hot path. Pass `--no-build` to reuse the bundles.
 *
 * Besides req/s it prints the server's CPU time per request (all its threads,
 * from /proc), which a busy shared machine disturbs far less than throughput:
 * the ratio of those is what the throughput ratio tends to once the server,
 * not the load generator, is the limit.
 */
import { join } from "node:path";
import {
  cpuMs,
  type LoadResult,
  load,
  machineLine,
  pinSelf,
  root,
  type Server,
  startServer,
} from "./harness";
import { median } from "./stats";
import { prepare } from "./table";

const baselines = join(root, "scripts/src/bench/baselines");
const rows = {
  liveness: { fn: "auth", path: "/health/liveness", base: "bare-http.mjs", token: false },
  me: { fn: "auth", path: "/api/v1/auth/me", base: "bare-pg.mjs", token: true },
  "me-express": { fn: "auth", path: "/api/v1/auth/me", base: "express-prisma.mjs", token: true },
  services: { fn: "catalog", path: "/api/v1/services", base: "bare-pg.mjs", token: false },
} as const;

export async function run(args: string[] = []) {
  pinSelf();
  const name = (args.find((a) => !a.startsWith("-")) ?? "liveness") as keyof typeof rows;
  const r = rows[name];
  if (!r) throw new Error(`compare one of: ${Object.keys(rows).join(", ")}`);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  console.log(`machine: ${machineLine()}`);
  const { bearer, fnEnv, baseEnv } = await prepare({ build: !args.includes("--no-build") });
  const headers = r.token ? bearer : {};
  const servers: Server[] = [];
  try {
    const ours = await startServer(r.fn, [join(root, "functions", r.fn, "dist/main.mjs")], fnEnv);
    servers.push(ours);
    const base = await startServer("baseline", [join(baselines, r.base)], baseEnv);
    servers.push(base);
    for (const s of servers) await load(`${s.url}${r.path}`, { seconds: 2, headers });
    type Measured = LoadResult & { cpuUs: number };
    const measure = async (s: Server): Promise<Measured> => {
      const before = cpuMs(s.proc.pid!);
      const result = await load(`${s.url}${r.path}`, { seconds, headers });
      return { ...result, cpuUs: ((cpuMs(s.proc.pid!) - before) * 1000) / (result.rps * seconds) };
    };
    const results: [Measured, Measured][] = [];
    for (let round = 0; round < rounds; round++) {
      const sides = round % 2 === 0 ? [ours, base] : [base, ours];
      const [a, b] = [await measure(sides[0]!), await measure(sides[1]!)];
      const pair: [Measured, Measured] = round % 2 === 0 ? [a, b] : [b, a];
      results.push(pair);
      console.log(
        `  round ${round + 1}: ours ${Math.round(pair[0].rps)} req/s (${pair[0].cpuUs.toFixed(1)} µs CPU/req), baseline ${Math.round(pair[1].rps)} req/s (${pair[1].cpuUs.toFixed(1)} µs), ratio ${(pair[0].rps / pair[1].rps).toFixed(2)}`,
      );
    }
    const ratio = median(results.map(([o, b]) => o.rps / b.rps));
    const cpuRatio = median(results.map(([o, b]) => b.cpuUs / o.cpuUs));
    console.log(
      `${name}: ours ${Math.round(median(results.map(([o]) => o.rps)))} req/s, ${r.base} ${Math.round(median(results.map(([, b]) => b.rps)))} req/s, median ratio ${ratio.toFixed(2)}; CPU per request ${median(results.map(([o]) => o.cpuUs)).toFixed(1)} / ${median(results.map(([, b]) => b.cpuUs)).toFixed(1)} µs, ratio ${cpuRatio.toFixed(2)}; RSS ${ours.rssMiB().toFixed(0)} / ${base.rssMiB().toFixed(0)} MiB`,
    );
    console.log(`machine after: ${machineLine()}`);
  } finally {
    for (const s of servers) await s.stop();
  }
}
