import { toJsonSchema } from "@valibot/to-json-schema";
import type { Hono } from "hono";
import type * as v from "valibot";

/**
 * OpenAPI 3.1 from the routes themselves: the validators (`jsonBody`,
 * `queryParams`, `pathParams`) and the auth middlewares carry a note of what
 * they check, and `openApiDocument` walks the app's routes collecting them.
 * The schemas that validate requests are the schemas documented.
 */
const META = Symbol.for("minispod.openapi");

export interface RouteNote {
  json?: v.GenericSchema;
  query?: v.GenericSchema;
  param?: v.GenericSchema;
  /** Needs a bearer access token. */
  auth?: boolean;
  /** Only these roles (403 for the others). */
  roles?: string[];
}

/** Attaches an OpenAPI note to a middleware; returns the same function. */
export function annotate<T extends object>(middleware: T, note: RouteNote): T {
  const previous = (middleware as { [META]?: RouteNote })[META];
  return Object.assign(middleware, { [META]: { ...previous, ...note } });
}

function noteOf(handler: unknown): RouteNote | undefined {
  if (!handler || (typeof handler !== "function" && typeof handler !== "object")) return undefined;
  const direct = (handler as { [META]?: RouteNote })[META];
  if (direct) return direct;
  // Hono wraps handlers of sub-apps that have their own error handler.
  return noteOf((handler as { __COMPOSED_HANDLER?: unknown }).__COMPOSED_HANDLER);
}

type JsonSchema = Record<string, unknown>;

function schemaOf(schema: v.GenericSchema): JsonSchema {
  // Transforms and custom checks have no JSON Schema form; the rest is kept.
  const { $schema: _ignored, ...rest } = toJsonSchema(schema, {
    errorMode: "ignore",
  }) as JsonSchema;
  return rest;
}

function parametersOf(schema: v.GenericSchema, where: "query" | "path"): JsonSchema[] {
  const json = schemaOf(schema);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === "path" || required.has(name),
    schema: property,
  }));
}

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
});

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

/** OpenAPI 3.1 document of every `/api/` route of `app`. */
export function openApiDocument(app: Hono<never> | Hono, info: OpenApiInfo) {
  const groups = new Map<string, { method: string; path: string; notes: RouteNote[] }>();
  // `.use(requireAuth(...))` registers an ALL route on "<prefix>/*": its note covers the prefix.
  const scoped: { prefix: string; note: RouteNote }[] = [];
  for (const route of (app as Hono).routes) {
    if (route.method !== "ALL") continue;
    const note = noteOf(route.handler);
    if (note) scoped.push({ prefix: route.path.replace(/\/?\*$/, ""), note });
  }
  for (const route of (app as Hono).routes) {
    if (route.method === "ALL" || !route.path.startsWith("/api/")) continue;
    const key = `${route.method} ${route.path}`;
    const group = groups.get(key) ?? { method: route.method, path: route.path, notes: [] };
    const note = noteOf(route.handler);
    if (note) group.notes.push(note);
    groups.set(key, group);
  }

  const paths: Record<string, Record<string, unknown>> = {};
  for (const { method, path, notes } of groups.values()) {
    const inherited = scoped
      .filter(({ prefix }) => path === prefix || path.startsWith(`${prefix}/`))
      .map(({ note }) => note);
    const note: RouteNote = Object.assign({}, ...inherited, ...notes);
    const openApiPath = path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
    const pathNames = [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
    const parameters = [
      ...(note.param
        ? parametersOf(note.param, "path")
        : pathNames.map((name) => ({
            name,
            in: "path",
            required: true,
            schema: { type: "string" },
          }))),
      ...(note.query ? parametersOf(note.query, "query") : []),
    ];
    const responses: Record<string, unknown> = {
      "2XX": { description: "Success" },
      "400": problem("Malformed JSON or invalid fields (`errors` lists them)"),
      "404": problem("Not found, or another customer's resource"),
      "429": problem("Rate limited; see Retry-After"),
    };
    if (note.json) {
      responses["413"] = problem("Body too large");
      responses["415"] = problem("Body is not application/json");
    }
    if (note.auth) responses["401"] = problem("Missing, expired or invalid access token");
    if (note.roles) responses["403"] = problem(`Only for ${note.roles.join(", ")}`);
    const tag = path.split("/")[3] ?? "api";
    paths[openApiPath] ??= {};
    paths[openApiPath][method.toLowerCase()] = {
      operationId: `${method.toLowerCase()}${openApiPath.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase())}`,
      tags: [tag],
      ...(note.roles ? { description: `Roles: ${note.roles.join(", ")}.` } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(note.json
        ? {
            requestBody: {
              required: true,
              content: { "application/json": { schema: schemaOf(note.json) } },
            },
          }
        : {}),
      ...(note.auth ? { security: [{ bearer: [] }] } : {}),
      responses,
    };
  }

  return {
    openapi: "3.1.0",
    info,
    servers: [{ url: "/" }],
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      schemas: {
        Problem: {
          type: "object",
          description: "RFC 9457 problem details",
          required: ["type", "title", "status", "detail", "code", "requestId"],
          properties: {
            type: { type: "string", format: "uri" },
            title: { type: "string" },
            status: { type: "integer" },
            detail: { type: "string" },
            code: { type: "string" },
            requestId: { type: "string" },
            instance: { type: "string" },
            errors: {
              type: "array",
              items: {
                type: "object",
                properties: { field: { type: "string" }, message: { type: "string" } },
              },
            },
          },
        },
      },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof openApiDocument>;

/** Merges the documents of several functions (the local runner serves one for all). */
export function mergeOpenApi(documents: OpenApiDocument[], info: OpenApiInfo): OpenApiDocument {
  const paths: OpenApiDocument["paths"] = {};
  for (const document of documents) {
    for (const [path, operations] of Object.entries(document.paths)) {
      paths[path] = { ...paths[path], ...operations };
    }
  }
  const first = documents[0];
  return {
    openapi: "3.1.0",
    info,
    servers: [{ url: "/" }],
    paths,
    components:
      first?.components ?? openApiDocument({ routes: [] } as unknown as Hono, info).components,
  };
}
