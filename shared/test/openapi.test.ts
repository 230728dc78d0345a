import { Hono } from "hono";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { createFunctionApp } from "../src/app";
import type { AppEnv } from "../src/app-env";
import { requireAuth, requireRole } from "../src/auth";
import { createTokenSigner, generateSigningKey } from "../src/jwt";
import { createLogger } from "../src/logger";
import { createMetrics } from "../src/metrics";
import { mergeOpenApi, type OpenApiDocument } from "../src/openapi";
import { pageQuery } from "../src/pagination";
import { fields, idParam, jsonBody, pathParams, queryParams } from "../src/validation";

async function makeApp() {
  const signer = createTokenSigner(await generateSigningKey(), { issuer: "i", audience: "a" });
  const app = createFunctionApp({
    name: "things",
    logger: createLogger({ name: "t", level: "silent" }),
    metrics: createMetrics("things", { defaultMetrics: false }),
  });
  const things = new Hono<AppEnv>()
    .use(requireAuth(signer.verifier()))
    .get("/", queryParams(pageQuery), (c) => c.json({ items: [], nextCursor: null }))
    .post(
      "/",
      requireRole("ADMIN"),
      jsonBody(v.object({ email: fields.email(), size: v.pipe(v.number(), v.integer()) })),
      (c) => c.json({}, 201),
    )
    .get("/:id", pathParams(idParam), (c) => c.json({}));
  app.route("/api/v1/things", things);
  app.get("/api/v1/public", (c) => c.json({}));
  return app;
}

describe("OpenAPI from the validating schemas", () => {
  it("documents bodies, query and path parameters, auth and roles of every /api route", async () => {
    const app = await makeApp();
    const res = await app.request("/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as OpenApiDocument;
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/api/v1/public",
      "/api/v1/things",
      "/api/v1/things/{id}",
    ]);
    const paths = doc.paths as Record<string, Record<string, Record<string, unknown>>>;
    const create = paths["/api/v1/things"]!.post!;
    const body = (
      create.requestBody as { content: Record<string, { schema: Record<string, unknown> }> }
    ).content["application/json"]!.schema;
    expect(body).toMatchObject({
      type: "object",
      required: ["email", "size"],
      properties: { email: { type: "string", format: "email" }, size: { type: "integer" } },
    });
    expect(create.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(create.responses as object)).toEqual(
      expect.arrayContaining(["401", "403", "415"]),
    );
    const list = paths["/api/v1/things"]!.get!;
    expect(
      (list.parameters as { name: string; in: string }[]).map((p) => `${p.in}:${p.name}`),
    ).toEqual(["query:limit", "query:cursor"]);
    const show = paths["/api/v1/things/{id}"]!.get!;
    expect(show.parameters).toEqual([
      expect.objectContaining({
        name: "id",
        in: "path",
        required: true,
        schema: expect.objectContaining({ format: "uuid" }),
      }),
    ]);
    expect(paths["/api/v1/public"]!.get!.security).toEqual([]);
  });

  it("serves an interactive reference page whose assets come from the function itself", async () => {
    const app = await makeApp();
    const res = await app.request("/docs");
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toContain('data-url="openapi.json"');
    expect(html).not.toMatch(/https?:\/\//);
    const assets = [...html.matchAll(/(?:src|href)="(docs\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toHaveLength(3);
    for (const asset of assets) {
      const served = await app.request(`/${asset}`);
      expect(served.status, asset).toBe(200);
      expect((await served.arrayBuffer()).byteLength, asset).toBeGreaterThan(100);
    }
    expect((await app.request("/docs/assets/0.0.1/swagger-ui-bundle.js")).status).toBe(404);
  });

  it("merges documents of several functions", async () => {
    const a = (await (await (await makeApp()).request("/openapi.json")).json()) as OpenApiDocument;
    const merged = mergeOpenApi([a, { ...a, paths: { "/api/v1/other": { get: {} } } }], {
      title: "all",
      version: "1",
    });
    expect(Object.keys(merged.paths)).toContain("/api/v1/other");
    expect(Object.keys(merged.paths)).toContain("/api/v1/things/{id}");
  });
});
