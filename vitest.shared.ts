import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** The one test setup every package uses: a migrated template database per run. */
export const projectConfig = (name: string) =>
  defineProject({
    test: {
      name,
      include: ["test/**/*.test.ts", "src/**/*.test.ts"],
      globalSetup: [here("./scripts/src/testing/global-setup.ts")],
      testTimeout: 20_000,
      hookTimeout: 60_000,
      pool: "forks",
    },
  });
