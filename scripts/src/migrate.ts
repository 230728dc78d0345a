import { createDb, redactUrl } from "@minispod/db";

/**
 * Applies the committed migrations to DATABASE_URL. In the cluster this runs
 * once per release as a Job (knative/base/migrate-job.yaml), before functions
 * roll out; functions never migrate on start.
 */
const url = process.env.DATABASE_URL;
if (!url) {
  console.error("DATABASE_URL: required (postgres://… or pglite://…)");
  process.exit(1);
}
const database = createDb(url, {
  max: 1,
  ...(process.env.MIGRATIONS_DIR ? { migrationsFolder: process.env.MIGRATIONS_DIR } : {}),
});
try {
  await database.migrate();
  console.log(`migrations applied to ${redactUrl(url)}`);
} finally {
  await database.close();
}
