import { createTemplateDatabase, dropDatabase } from "@minispod/db/testing";
// Brings the ProvidedContext keys this setup provides into scope.
import type {} from "@minispod/shared/testing";
import type { TestProject } from "vitest/node";

/**
 * Once per test run: migrate a template database that every test file clones.
 * The server comes from TEST_DATABASE_URL (default: the local PostgreSQL).
 */
export default async function setup(project: TestProject) {
  const server = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const template = `minispod_template_${process.pid}_${project.name.replace(/\W/g, "_")}`;
  await createTemplateDatabase(server, template);
  project.provide("databaseServerUrl", server);
  project.provide("templateDatabase", template);
  project.provide("redisUrl", process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
  return async () => {
    await dropDatabase(server, template);
  };
}
