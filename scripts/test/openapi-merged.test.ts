import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { documentGaps, type OpenApiDocument } from "@minispod/shared";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { functions } from "../src/local/functions";
import { createLocalRunner, type LocalRunner } from "../src/local/runner";

/**
 * The document the local runner merges from every function, checked the way
 * a client generator would need it: valid OpenAPI 3.1 (by an independent
 * validator), and every operation described.
 */
let h: Harness;
let runner: LocalRunner;
let document: OpenApiDocument;

beforeAll(async () => {
  h = await createHarness();
  runner = await createLocalRunner({
    source: {
      DATABASE_URL: h.databaseUrl,
      REDIS_URL: h.redisUrl,
      REDIS_KEY_PREFIX: h.redisPrefix,
      DATA_DIR: mkdtempSync(join(tmpdir(), "minispod-openapi-")),
      LOCAL_CRON: "false",
      LOG_LEVEL: "silent",
      BCRYPT_COST: "4",
      ADMIN_PASSWORD: "admin password 1",
    },
    functions,
  });
  document = (await (await runner.app.request("/openapi.json")).json()) as OpenApiDocument;
}, 120_000);
afterAll(async () => {
  await runner?.close();
  await h?.close();
});

describe("the merged API document", () => {
  it("passes an independent OpenAPI 3.1 validator", async () => {
    const result = await new Validator().validate(document as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it("describes every operation: summary, operationId, response schema, error statuses", () => {
    // A gap names the route and what to add (a describeRoute note as its first handler).
    expect(documentGaps(document)).toEqual([]);
    const operations = Object.values(document.paths).flatMap((item) =>
      Object.values(item as Record<string, { operationId: string }>),
    );
    expect(operations.length).toBeGreaterThan(30);
    expect(operations.map((operation) => operation.operationId)).toContain("subscriptions.create");
  });
});
