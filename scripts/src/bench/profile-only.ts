/**
 * `npm run bench -- profile [me|liveness|services]`: only the CPU profile of a
 * bundle under load (see profile.ts), without the whole table.
 */
import { join } from "node:path";
import { pinSelf, root } from "./harness";
import { profileUnderLoad } from "./profile";
import { prepare } from "./table";

const targets = {
  me: { fn: "auth", url: "/api/v1/auth/me" },
  liveness: { fn: "auth", url: "/health/liveness" },
  services: { fn: "catalog", url: "/api/v1/services" },
} as const;

export async function run(args: string[] = []) {
  pinSelf();
  const name = (args[0] ?? "me") as keyof typeof targets;
  const target = targets[name];
  if (!target) throw new Error(`profile one of: ${Object.keys(targets).join(", ")}`);
  const { fnEnv, bearer } = await prepare();
  await profileUnderLoad({
    bundle: join(root, "functions", target.fn, "dist/main.mjs"),
    env: fnEnv,
    url: target.url,
    // Only /me needs a token; the catalog is read anonymously, as in the table.
    headers: name === "me" ? bearer : {},
    seconds: Number(process.env.BENCH_SECONDS ?? 10),
  });
}
