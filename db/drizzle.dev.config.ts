import { defineConfig } from "drizzle-kit";

// The dev-only set: tables of local mode (the local broker's queue, the
// simulated cluster), applied by `Database.migrateDev()` and never by the
// production migrate Job. `npm run generate:dev -w @minispod/db` writes it.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/dev-schema/index.ts",
  out: "./migrations-dev",
  casing: "snake_case",
  migrations: { table: "__drizzle_migrations_dev" },
});
