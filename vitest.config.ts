import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      "db",
      "shared",
      "shared/billing",
      "shared/cluster",
      "shared/instances",
      "shared/webhooks",
      "scripts",
      "functions/*",
    ],
    // Two cores: more workers only add contention on PostgreSQL.
    maxWorkers: 3,
  },
});
