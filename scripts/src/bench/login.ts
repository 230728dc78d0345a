/**
 * Login timing: bcrypt cost 12 for every outcome, so an unknown email cannot be
 * told from a wrong password (`npm run bench -- login`).
 *
 * Uses PGlite in memory unless BENCH_DATABASE_URL names a PostgreSQL database.
 */
import { createDb } from "@minispod/db";
import { authFunction } from "@minispod/fn-auth";
import { exportKeyPem, generateSigningKey, parseEnv } from "@minispod/shared";
import { inProcessContext } from "./harness";
import { fmt, median } from "./stats";

export async function run(_args: string[] = []) {
  const keys = await exportKeyPem(await generateSigningKey());
  const database = createDb(process.env.BENCH_DATABASE_URL ?? "pglite://memory");
  await database.migrate();
  const env = parseEnv(authFunction.envSchema as never, {
    DATABASE_URL: process.env.BENCH_DATABASE_URL ?? "pglite://memory",
    JWT_PRIVATE_KEY: keys.privatePem,
    JWT_PUBLIC_KEY: keys.publicPem,
    LOG_LEVEL: "silent",
    BCRYPT_COST: "12",
    AUTH_RATE_LIMIT_LOGIN: "100000",
    AUTH_RATE_LIMIT_REGISTER: "100000",
    AUTH_RATE_LIMIT_RESET: "100000",
  }) as Parameters<typeof authFunction.create>[0]["env"];
  const ctx = await inProcessContext(authFunction, env, database);
  const app = await authFunction.create(ctx);
  const post = (path: string, body: unknown) =>
    app.request(`/api/v1/auth${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  await post("/register", {
    email: "bench@example.com",
    password: "the right password",
    name: "B",
  });

  const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
  const cases = {
    "unknown email": { email: "nobody@example.com", password: "a wrong password" },
    "known email, wrong password": { email: "bench@example.com", password: "a wrong password" },
    "known email, right password": { email: "bench@example.com", password: "the right password" },
  };
  const times: Record<string, number[]> = {};
  // Interleave the cases so drift on a shared machine hits all of them alike.
  for (let i = 0; i < rounds; i++) {
    for (const [name, body] of Object.entries(cases)) {
      const started = performance.now();
      await post("/login", body);
      times[name] = [...(times[name] ?? []), performance.now() - started];
    }
  }
  console.log(`\nlogin at bcrypt cost 12, median of ${rounds} interleaved rounds`);
  for (const [name, xs] of Object.entries(times))
    console.log(`  ${name.padEnd(30)} ${fmt(median(xs))}`);
  const ratio = median(times["unknown email"]!) / median(times["known email, wrong password"]!);
  console.log(
    `  ratio unknown / known-wrong      ${ratio.toFixed(3)}  (1.000 = indistinguishable)`,
  );

  const forgot: Record<string, number[]> = {};
  for (let i = 0; i < rounds; i++) {
    for (const [name, email] of [
      ["unknown email", "nobody@example.com"],
      ["known email", "bench@example.com"],
    ] as const) {
      const started = performance.now();
      await post("/password/forgot", { email });
      forgot[name] = [...(forgot[name] ?? []), performance.now() - started];
    }
  }
  console.log(`\nforgot-password, median of ${rounds} interleaved rounds`);
  for (const [name, xs] of Object.entries(forgot))
    console.log(`  ${name.padEnd(30)} ${fmt(median(xs))}`);
  console.log(
    `  ratio unknown / known            ${(median(forgot["unknown email"]!) / median(forgot["known email"]!)).toFixed(3)}`,
  );
  await database.close();
}
