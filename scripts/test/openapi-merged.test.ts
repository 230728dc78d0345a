import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
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

const root = join(import.meta.dirname, "../..");
/** The committed copy client generators read (`npm run generate:client`); never edited by hand. */
const committed = join(root, "docs/openapi.json");
const serialised = (doc: unknown) => `${JSON.stringify(doc, null, 2)}\n`;

describe("the merged API document", () => {
  it("is what docs/openapi.json holds (refresh it with `npm run openapi:write`)", () => {
    if (process.env.UPDATE_OPENAPI === "1") writeFileSync(committed, serialised(document));
    expect(readFileSync(committed, "utf8")).toBe(serialised(document));
  });

  it("types the events customers receive as OAS 3.1 webhooks, Standard Webhooks headers included", () => {
    const webhooks = document.webhooks as Record<
      string,
      { post: { parameters: { name: string }[]; requestBody: unknown } }
    >;
    expect(Object.keys(webhooks)).toEqual(
      expect.arrayContaining(["subscription.activated", "ping"]),
    );
    // user.* events carry tokens; they never leave as webhooks.
    expect(Object.keys(webhooks).some((type) => type.startsWith("user."))).toBe(false);
    const activated = webhooks["subscription.activated"]!.post;
    expect(activated.parameters.map((p) => p.name)).toEqual([
      "webhook-id",
      "webhook-timestamp",
      "webhook-signature",
    ]);
    expect(activated.requestBody).toMatchObject({
      content: {
        "application/json": { schema: { $ref: "#/components/schemas/SubscriptionActivatedEvent" } },
      },
    });
    const schemas = document.components.schemas as Record<string, Record<string, unknown>>;
    expect(schemas.SubscriptionActivatedEvent).toMatchObject({
      properties: {
        type: { const: "subscription.activated" },
        data: { $ref: "#/components/schemas/SubscriptionEventData" },
      },
    });
    // A delivery's payload is one of those messages.
    expect(JSON.stringify(schemas.DeliveryDetail)).toContain("#/components/schemas/WebhookEvent");
  });

  it("documents ETag on the reads admins update and If-Match (412) on their updates", () => {
    type Op = {
      parameters?: { name: string; in: string }[];
      responses: Record<string, { headers?: Record<string, unknown>; content?: unknown }>;
    };
    const paths = document.paths as Record<string, Record<string, Op>>;
    const pairs = [
      [paths["/api/v1/services/{slug}"]!.get!, paths["/api/v1/services/{slug}"]!.patch!],
      [paths["/api/v1/admin/users/{id}"]!.get!, paths["/api/v1/admin/users/{id}/role"]!.patch!],
    ] as const;
    for (const [read, update] of pairs) {
      expect(Object.keys(read.responses["200"]!.headers!)).toContain("ETag");
      expect(Object.keys(update.responses["200"]!.headers!)).toContain("ETag");
      expect(update.parameters).toContainEqual(
        expect.objectContaining({ name: "If-Match", in: "header", required: false }),
      );
      expect(update.responses["412"]!.content).toMatchObject({
        "application/problem+json": {
          schema: { $ref: "#/components/schemas/PreconditionFailedProblem" },
        },
      });
    }
  });

  it("is deterministic: built twice, byte for byte the same", async () => {
    const again = await (await runner.app.request("/openapi.json")).json();
    expect(serialised(again)).toBe(serialised(document));
  });

  it("passes Spectral (spectral:oas and the repo's ruleset) with no error and no warning", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "minispod-spectral-")), "openapi.json");
    writeFileSync(file, serialised(document));
    const run = promisify(execFile);
    const result = await run(
      process.execPath,
      [
        join(root, "node_modules/@stoplight/spectral-cli/dist/index.js"),
        "lint",
        file,
        "--ruleset",
        join(root, ".spectral.yaml"),
        "--format",
        "json",
        "--quiet",
        "--fail-severity",
        "hint",
      ],
      { cwd: root },
    ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? "" }));
    const findings = JSON.parse(result.stdout || "[]") as {
      code: string;
      severity: number;
      message: string;
      path: string[];
    }[];
    // Severity 0 = error, 1 = warning; both must be zero.
    expect(
      findings
        .filter((f) => f.severity <= 1)
        .map((f) => `${f.code} at ${f.path.join(".")}: ${f.message}`),
    ).toEqual([]);
  }, 120_000);

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
