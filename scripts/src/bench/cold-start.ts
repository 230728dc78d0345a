/** Cold start of the bundled auth function (`npm run bench -- cold-start`). */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { exportKeyPem, generateSigningKey } from "@minispod/shared";
import { fmt, median } from "./stats";

export async function run(_args: string[] = []) {
  const bundle = fileURLToPath(new URL("../../../functions/auth/dist/main.mjs", import.meta.url));
  const url =
    process.env.BENCH_DATABASE_URL ??
    process.env.TEST_DATABASE_URL ??
    "postgres://postgres@127.0.0.1:5432/postgres";
  if (!existsSync(bundle)) {
    console.log("\ncold start: build first (npm run build -w @minispod/fn-auth)");
    return;
  }
  const keys = await exportKeyPem(await generateSigningKey());
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    const port = 18_080 + i;
    const started = performance.now();
    const child = spawn(process.execPath, [bundle], {
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL: url,
        JWT_PRIVATE_KEY: keys.privatePem,
        JWT_PUBLIC_KEY: keys.publicPem,
        LOG_LEVEL: "silent",
      },
      stdio: "ignore",
    });
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health/readiness`);
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      if (performance.now() - started > 20_000) throw new Error("auth bundle did not become ready");
      await new Promise((r) => setTimeout(r, 5));
    }
    samples.push(performance.now() - started);
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
  console.log(`\ncold start of the bundled auth function (spawn -> readiness 200), 5 runs`);
  console.log(
    `  median ${fmt(median(samples))}, min ${fmt(Math.min(...samples))}, max ${fmt(Math.max(...samples))}`,
  );
}
