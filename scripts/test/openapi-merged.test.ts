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

// Functions whose routes are all described. A function joins this list when
// its routes carry describeRoute notes; the test below then holds it to that.
const DESCRIBED = [
  "/api/v1/auth",
  "/api/v1/services",
  "/api/v1/subscriptions",
  "/api/v1/payments",
  "/api/v1/invoices",
];

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

  it("describes every operation of the described functions (summary, response schema, errors)", () => {
    const gaps = documentGaps(document).filter((gap) =>
      DESCRIBED.some((prefix) => gap.split(" ")[1]!.startsWith(prefix)),
    );
    expect(gaps).toEqual([]);
    const operationIds = Object.entries(document.paths)
      .filter(([path]) => DESCRIBED.some((prefix) => path.startsWith(prefix)))
      .flatMap(([, item]) => Object.values(item as Record<string, { operationId: string }>))
      .map((operation) => operation.operationId);
    expect(operationIds).toContain("subscriptions.create");
  });
});
