/**
 * Benchmarks that print figures (never timed tests). Ratios are compared within
 * one run, because this machine is shared and noisy.
 *
 *   npm run bench                  # the main table (table.ts)
 *   npm run bench -- <name> [...]  # one bench by name, extra arguments passed on
 *   npm run bench -- compare liveness|me|me-express|services  # one table row alone
 *
 * Each bench is a module exporting `run(args)`, registered below with one line.
 */
type Bench = (args: string[]) => Promise<unknown>;

const benches: Record<string, () => Promise<{ run: Bench }>> = {
  table: () => import("./table"),
  login: () => import("./login"),
  "cold-start": async () => ({ run: (await import("./cold-start")).coldStartBench }),
  images: () => import("./images"),
  profile: () => import("./profile-only"),
  compare: () => import("./compare"),
  ladder: () => import("./ladder"),
  sweep: async () => ({ run: (await import("./sweep")).sweepBench }),
  relay: async () => ({ run: (await import("./relay")).relayBench }),
  provision: async () => ({ run: (await import("./provision")).provisionBench }),
  portal: () => import("./portal"),
};

const [first, ...rest] = process.argv.slice(2);
const name = first && !first.startsWith("-") ? first : "table";
const args = name === first ? rest : process.argv.slice(2);
const load = benches[name];
if (!load) {
  console.error(`unknown bench "${name}"; one of: ${Object.keys(benches).join(", ")}`);
  process.exit(2);
}
await (await load()).run(args);
