import { Validator } from "@seriousme/openapi-schema-validator";
import { Hono } from "hono";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { createFunctionApp } from "../src/app";
import type { AppEnv } from "../src/app-env";
import { requireAuth } from "../src/auth";
import { createTokenSigner, generateSigningKey } from "../src/jwt";
import { createLogger } from "../src/logger";
import { createMetrics } from "../src/metrics";
import { describeRoute, documentGaps, listOf, named, type OpenApiDocument } from "../src/openapi";
import { pageQuery } from "../src/pagination";
// Importing the harness switches on the response checks, as in every route test.
import "../src/testing";
import { idParam, jsonBody, pathParams, queryParams } from "../src/validation";

const thing = named("Thing", v.object({ id: v.string(), size: v.pipe(v.number(), v.integer()) }));

async function makeApp(answer: unknown = { id: "t1", size: 3 }) {
  const signer = createTokenSigner(await generateSigningKey(), { issuer: "i", audience: "a" });
  const app = createFunctionApp({
    name: "things",
    logger: createLogger({ name: "t", level: "silent" }),
    metrics: createMetrics("things", { defaultMetrics: false }),
  });
  const things = new Hono<AppEnv>()
    .get(
      "/",
      describeRoute({
        id: "things.list",
        summary: "List things",
        response: { schema: listOf(thing) },
        errors: [],
      }),
      requireAuth(signer.verifier()),
      queryParams(pageQuery),
      (c) => c.json({ items: [answer], nextCursor: null }),
    )
    .post(
      "/",
      describeRoute({
        id: "things.create",
        summary: "Create a thing",
        response: { status: 201, schema: thing, location: "/api/v1/things/{id}" },
        errors: ["PAYMENT_DECLINED", "CONFLICT"],
        idempotent: true,
      }),
      requireAuth(signer.verifier()),
      jsonBody(v.object({ size: v.number() })),
      (c) => c.json(answer, 201),
    )
    .delete(
      "/:id",
      describeRoute({
        id: "things.delete",
        summary: "Delete a thing",
        response: { status: 204 },
        errors: [],
      }),
      requireAuth(signer.verifier()),
      pathParams(idParam),
      (c) => c.body(null, 204),
    )
    .get("/undescribed", (c) => c.json({}));
  const pub = new Hono<AppEnv>().post(
    "/callback",
    describeRoute({
      id: "callbacks.receive",
      summary: "Receive a signed callback",
      response: { schema: v.object({ received: v.boolean() }) },
      errors: ["INVALID_SIGNATURE"],
      headers: [{ name: "X-Signature", description: "HMAC-SHA256 of `<timestamp>.<body>`" }],
    }),
    (c) => c.json({ received: true }),
  );
  app.route("/api/v1/things", things);
  app.route("/api/v1/public", pub);
  const token = await signer.sign(
    { userId: crypto.randomUUID(), role: "CUSTOMER", email: "a@example.com" },
    300,
  );
  return { app, auth: { authorization: `Bearer ${token}` } };
}

async function documentOf(app: Hono<AppEnv>) {
  return (await (await app.request("/openapi.json")).json()) as OpenApiDocument;
}
type Operation = {
  operationId: string;
  summary?: string;
  security: unknown[];
  parameters?: { name: string; in: string; schema: Record<string, unknown> }[];
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
};
const op = (doc: OpenApiDocument, path: string, method: string) =>
  (doc.paths as Record<string, Record<string, Operation>>)[path]![method]!;

describe("operations described for client generators", () => {
  it("states id, summary, response schema, every error status, Idempotency-Key and security", async () => {
    const doc = await documentOf((await makeApp()).app);
    const create = op(doc, "/api/v1/things", "post");
    expect(create.operationId).toBe("things.create");
    expect(create.summary).toBe("Create a thing");
    expect(create.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(create.responses)).toEqual([
      "201",
      "400",
      "401",
      "402",
      "409",
      "413",
      "415",
      "429",
      "500",
    ]);
    // A named schema is one component, referred to by every operation using it.
    expect(create.responses["201"]!.content!["application/json"]!.schema).toEqual({
      $ref: "#/components/schemas/Thing",
    });
    expect((doc.components.schemas as Record<string, unknown>).Thing).toMatchObject({
      type: "object",
      required: ["id", "size"],
      title: "Thing",
    });
    expect(create.parameters).toContainEqual(
      expect.objectContaining({ name: "Idempotency-Key", in: "header" }),
    );

    const list = op(doc, "/api/v1/things", "get");
    expect(list.responses["200"]!.content!["application/json"]!.schema).toEqual({
      $ref: "#/components/schemas/ThingPage",
    });
    expect((doc.components.schemas as Record<string, unknown>).ThingPage).toMatchObject({
      properties: {
        items: { type: "array", items: { $ref: "#/components/schemas/Thing" } },
        nextCursor: { anyOf: [{ type: "string" }, { type: "null" }] },
      },
    });
    expect(list.parameters!.find((p) => p.name === "limit")!.schema).toEqual({
      type: "integer",
      minimum: 1,
      maximum: 100,
      default: 20,
    });

    const remove = op(doc, "/api/v1/things/{id}", "delete");
    expect(remove.responses["204"]).toEqual({
      description: "Done; no body",
      headers: { "X-Request-Id": { $ref: "#/components/headers/RequestId" } },
    });
    expect(Object.keys(remove.responses)).toContain("404");

    const callback = op(doc, "/api/v1/public/callback", "post");
    expect(callback.security).toEqual([]);
    expect(callback.parameters).toContainEqual(
      expect.objectContaining({ name: "X-Signature", in: "header", required: true }),
    );
    expect(Object.keys(callback.responses)).toContain("401");
  });

  it("types each error status by its codes, with their extensions, examples and headers", async () => {
    const doc = await documentOf((await makeApp()).app);
    const responses = op(doc, "/api/v1/things", "post").responses as Record<
      string,
      {
        headers?: Record<string, unknown>;
        content?: Record<
          string,
          { schema: unknown; examples?: Record<string, { value: unknown }> }
        >;
      }
    >;
    const declined = responses["402"]!.content!["application/problem+json"]!;
    expect(declined.schema).toEqual({ $ref: "#/components/schemas/PaymentDeclinedProblem" });
    expect(declined.examples!.PAYMENT_DECLINED!.value).toMatchObject({
      status: 402,
      code: "PAYMENT_DECLINED",
      declineCode: expect.any(String),
      instance: "/api/v1/things",
    });
    const schemas = doc.components.schemas as Record<string, { allOf?: unknown[] }>;
    expect(schemas.PaymentDeclinedProblem!.allOf![1]).toMatchObject({
      required: ["code", "status", "declineCode"],
      properties: { code: { const: "PAYMENT_DECLINED" }, status: { const: 402 } },
    });
    // Several codes share 401: one of their components each.
    expect(responses["401"]!.content!["application/problem+json"]!.schema).toEqual({
      oneOf: [
        { $ref: "#/components/schemas/UnauthorizedProblem" },
        { $ref: "#/components/schemas/InvalidTokenProblem" },
        { $ref: "#/components/schemas/TokenExpiredProblem" },
      ],
    });
    expect(Object.keys(responses["401"]!.headers!)).toContain("WWW-Authenticate");
    expect(Object.keys(responses["429"]!.headers!)).toContain("Retry-After");
    expect(Object.keys(responses["201"]!.headers!)).toEqual([
      "X-Request-Id",
      "Location",
      "Idempotent-Replayed",
    ]);
  });

  it("sends Location on a 201 from the note's template", async () => {
    const { app, auth } = await makeApp();
    const res = await app.request("/api/v1/things", {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ size: 3 }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe("/api/v1/things/t1");
  });

  it("passes an independent OpenAPI 3.1 validator", async () => {
    const result = await new Validator().validate(
      (await documentOf((await makeApp()).app)) as unknown as Record<string, unknown>,
    );
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it("names what an undescribed route must add", async () => {
    const doc = await documentOf((await makeApp()).app);
    expect(documentGaps(doc)).toEqual([
      "GET /api/v1/things/undescribed: no describeRoute({ id, summary, response, errors }) note; add one as the route's first handler",
    ]);
  });

  it("reports a missing response schema and a badly formed operationId", () => {
    const doc = {
      paths: {
        "/api/v1/x": {
          get: {
            operationId: "getX",
            summary: "x",
            responses: { "200": { description: "ok" }, "429": {}, "500": {} },
          },
          post: { operationId: "x.create", summary: "x", responses: { "201": {} } },
        },
      },
    } as unknown as OpenApiDocument;
    expect(documentGaps(doc)).toEqual([
      'GET /api/v1/x: operationId "getX" is not "<resource>.<verb>"',
      "GET /api/v1/x: the 200 response has no schema",
      "POST /api/v1/x: the 201 response has no schema",
      "POST /api/v1/x: error statuses missing",
    ]);
  });

  it("under test, an answer outside its documented schema fails loudly", async () => {
    const good = await makeApp();
    expect((await good.app.request("/api/v1/things", { headers: good.auth })).status).toBe(200);
    const bad = await makeApp({ id: "t1", size: "three" });
    const res = await bad.app.request("/api/v1/things", { headers: bad.auth });
    expect(res.status).toBe(500);
  });
});
