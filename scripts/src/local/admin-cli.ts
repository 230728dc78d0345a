import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createDb } from "@minispod/db";
import { envField, exitOnStartupFailure, parseEnv } from "@minispod/shared";
import * as v from "valibot";
import { resetAdminPassword } from "./admin";
import { runnerEnvSchema } from "./env";

const USAGE = `Usage: npm run admin -- reset-password [--email <admin email>]

Sets a new password on the local admin (ADMIN_EMAIL, or --email) and signs it
out everywhere. The password is ADMIN_PASSWORD when set, otherwise a generated
one printed once. Uses the same database as npm start (DATABASE_URL, or the
PGlite files in DATA_DIR: stop npm start first, PGlite allows one process).`;

/** `npm run admin -- <command>`: local admin chores. */
async function main() {
  const { positionals, values } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: { email: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help || positionals[0] !== "reset-password") {
    console.log(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  let outcome: Awaited<ReturnType<typeof resetAdminPassword>>;
  let email: string;
  try {
    const env = parseEnv(
      v.object({ ...runnerEnvSchema.entries, DATABASE_URL: v.optional(envField.databaseUrl()) }),
      { ...process.env, ...(values.email ? { ADMIN_EMAIL: values.email } : {}) },
    );
    email = env.ADMIN_EMAIL;
    const database = createDb(
      env.DATABASE_URL ?? `pglite://${join(resolve(env.DATA_DIR), "pglite")}`,
      { max: 1 },
    );
    try {
      outcome = await resetAdminPassword(database.db, {
        email,
        password: env.ADMIN_PASSWORD,
        bcryptCost: env.BCRYPT_COST,
      });
    } finally {
      await database.close();
    }
  } catch (error) {
    exitOnStartupFailure("admin", error);
  }
  if (!outcome) {
    process.stderr.write(
      `admin: no admin account ${email} in this database; npm start creates it (ADMIN_EMAIL chooses the address).\n`,
    );
    process.exit(1);
  }
  console.log(
    outcome.generated
      ? `admin password of ${email} reset to: ${outcome.password}   (shown once; sessions signed out)`
      : `admin password of ${email} set from ADMIN_PASSWORD (sessions signed out)`,
  );
}

await main();
