import { toJsonSchema } from "@valibot/to-json-schema";
import type { Hono, MiddlewareHandler } from "hono";
import { findTargetHandler } from "hono/utils/handler";
import * as v from "valibot";
import { type ErrorCode, errorStatus } from "./errors";
import {
  errorHeaders,
  problemComponent,
  problemComponentName,
  problemExample,
  problemSchema,
  responseHeaders,
  successHeaders,
} from "./openapi-problems";
import { webhookSection } from "./openapi-webhooks";

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
  /** What the operation is, what it answers and which failures it can add (`describeRoute`). */
  operation?: OperationNote;
}

/** The answer of an operation: a JSON body described by a valibot schema, or none (204). */
export type ResponseNote =
  | {
      status?: 200 | 202;
      schema: v.GenericSchema;
      description?: string;
      /** For a 202: where the accepted work can be followed (as for 201, a template). */
      location?: string;
    }
  | {
      status: 201;
      schema: v.GenericSchema;
      description?: string;
      /**
       * Where the created resource is read, as a path template filled from the
       * answer's members (e.g. "/api/v1/subscriptions/{id}"); sent as `Location`.
       */
      location: string;
    }
  | { status: 204; description?: string };

export interface OperationNote {
  /** Stable, `<resource>.<verb>` (e.g. "subscriptions.create"): client generators name methods by it. */
  id: string;
  summary: string;
  description?: string;
  response: ResponseNote;
  /**
   * Failures this operation can answer beyond those its middlewares imply
   * (400 from validators, 401 from auth, 403 from roles, 404 from path ids,
   * 413/415 from JSON bodies, 429 and 500 always). `[]` when there are none.
   */
  errors: ErrorCode[];
  /** Honours an `Idempotency-Key` header. */
  idempotent?: boolean;
  /** The success answer carries the resource's version as `ETag`. */
  etag?: boolean;
  /** Honours `If-Match` (412 on a stale tag); "required" also answers 428 without one. */
  ifMatch?: "optional" | "required";
  /** The JSON body, for routes that parse it themselves (e.g. after checking a signature). */
  body?: v.GenericSchema;
  /** Extra request headers (e.g. a signature), documented as header parameters. */
  headers?: { name: string; description: string; required?: boolean }[];
}

/**
 * Describes an operation for the API document: a pass-through middleware
 * carrying the note. Put it first in the route's handlers. Under test
 * (`checkResponses(true)`, which the test harness sets) it also checks each
 * successful answer against the response schema, so the document cannot
 * drift from what the handler returns.
 *
 * @example
 * .post("/", describeRoute({ id: "things.create", summary: "Create a thing",
 *   response: { status: 201, schema: thingSchema }, errors: ["CONFLICT"] }), jsonBody(...), handler)
 */
export function describeRoute(operation: OperationNote): MiddlewareHandler {
  const expected = operation.response.status ?? 200;
  const schema = "schema" in operation.response ? operation.response.schema : undefined;
  const location = "location" in operation.response ? operation.response.location : undefined;
  const middleware: MiddlewareHandler = async (c, next) => {
    await next();
    const created = c.res.status === 201 || c.res.status === 202;
    if (location && created && c.res.status === expected && !c.res.headers.has("location")) {
      const answer = (await c.res.clone().json()) as Record<string, unknown>;
      c.res.headers.set("location", fillTemplate(location, answer));
    }
    if (!responseChecks.enabled || c.res.status !== expected) return;
    if (!schema) {
      if (c.res.body !== null) {
        throw new Error(`${operation.id} answered ${expected} with a body; its note says none.`);
      }
      return;
    }
    const body: unknown = await c.res.clone().json();
    const result = v.safeParse(schema, body);
    if (!result.success) {
      const issues = result.issues
        .map((i) => `${i.path?.map((p) => String(p.key)).join(".") ?? "(body)"}: ${i.message}`)
        .join("; ");
      throw new Error(`${operation.id} answered outside its documented schema: ${issues}`);
    }
  };
  return annotate(middleware, { operation });
}

/** "/things/{id}" with `{ id: "a b" }` -> "/things/a%20b". */
function fillTemplate(template: string, values: Record<string, unknown>): string {
  return template.replace(/\{([A-Za-z0-9_]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (typeof value !== "string" && typeof value !== "number") {
      throw new Error(`The Location template ${template} needs "${name}" in the answer.`);
    }
    return encodeURIComponent(String(value));
  });
}

/** Switched on by the test harness: `describeRoute` then checks answers against their schemas. */
export const responseChecks = { enabled: false };

/**
 * Names `schema` as an API component: the document defines it once under
 * `components.schemas` and every operation that answers or takes it refers to
 * it, so a generated client has a `User`, a `Subscription`... Valibot's own
 * `title` metadata carries the name; validation is unchanged.
 *
 * @example
 * const userSchema = named("User", v.object({ id: v.string() }));
 */
export function named<S extends v.GenericSchema>(name: string, schema: S) {
  const title = v.title(name);
  const pipe = v.pipe(schema, title);
  // The converter hands a pipe's actions over one by one, never the pipe itself:
  // its title action is where the named schema is recognised.
  namedBy.set(title, pipe);
  return pipe;
}

const namedBy = new WeakMap<object, v.GenericSchema>();

function nameOf(schema: unknown): string | undefined {
  const pipe = (schema as { pipe?: readonly { type: string; title?: string }[] }).pipe;
  return pipe?.find((action) => action.type === "title")?.title;
}

/** `{ items: [...], nextCursor }`, the shape of every list; a named item names its page (`UserPage`). */
export function listOf<S extends v.GenericSchema>(item: S) {
  const page = v.object({ items: v.array(item), nextCursor: v.nullable(v.string()) });
  const name = nameOf(item);
  return name ? named(`${name}Page`, page) : page;
}

// Schemas whose JSON Schema is given by hand: inputs parsed from strings (a
// query's `limit`) whose wire form valibot cannot infer from the transform.
const documentedAs = new WeakMap<object, JsonSchema>();

/** Gives `schema` a hand-written JSON Schema in the API document. Returns the same schema. */
export function documentAs<S extends v.GenericSchema>(schema: S, json: JsonSchema): S {
  documentedAs.set(schema, json);
  return schema;
}

/** Attaches an OpenAPI note to a middleware; returns the same function. */
export function annotate<T extends object>(middleware: T, note: RouteNote): T {
  const previous = (middleware as { [META]?: RouteNote })[META];
  return Object.assign(middleware, { [META]: { ...previous, ...note } });
}

function noteOf(handler: Parameters<typeof findTargetHandler>[0]): RouteNote | undefined {
  // Hono wraps handlers of sub-apps that have their own error handler; its own helper unwraps them.
  return (findTargetHandler(handler) as { [META]?: RouteNote })[META];
}

type JsonSchema = Record<string, unknown>;

/** The component schemas a document collects while converting its operations' schemas. */
type Components = Map<string, JsonSchema>;

/**
 * JSON Schema of `schema`; named schemas inside it (and itself, unless it is
 * the component being defined) become `$ref`s into `components`.
 */
function schemaOf(schema: v.GenericSchema, components?: Components, defining?: object): JsonSchema {
  // Transforms and custom checks have no JSON Schema form; the rest is kept.
  const { $schema: _ignored, ...rest } = toJsonSchema(schema, {
    errorMode: "ignore",
    target: "draft-2020-12",
    overrideSchema: ({ valibotSchema }) => documentedAs.get(valibotSchema) ?? null,
    overrideAction: ({ valibotAction }) => {
      const named = namedBy.get(valibotAction);
      if (!named || !components || named === defining) return null;
      defineComponent(nameOf(named)!, named, components);
      return { $ref: `#/components/schemas/${nameOf(named)}` };
    },
  }) as JsonSchema;
  return rest;
}

// Which valibot schema defined each name, so two different schemas cannot share one.
const definedBy = new WeakMap<Components, Map<string, object>>();

function defineComponent(name: string, schema: v.GenericSchema, components: Components): void {
  const owners = definedBy.get(components) ?? new Map<string, object>();
  definedBy.set(components, owners);
  const owner = owners.get(name);
  if (owner === schema) return;
  // Reserve the name first: a schema that contains itself stops here.
  owners.set(name, schema);
  const json = schemaOf(schema, components, schema);
  const previous = components.get(name);
  if (owner && previous && !sameJson(previous, json)) {
    throw new Error(`Two different schemas are named "${name}"; give one another name.`);
  }
  components.set(name, json);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function parametersOf(schema: v.GenericSchema, where: "query" | "path"): JsonSchema[] {
  // Parameters are listed one by one, so their object is never a reference.
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

/** The error answer of one status: its codes' problem components, an example of each, its headers. */
function problemResponse(
  status: string,
  codes: ErrorCode[],
  path: string,
  idempotent: boolean,
  components: Components,
) {
  for (const code of codes) {
    if (!components.has(problemComponentName(code))) {
      components.set(problemComponentName(code), problemComponent(code));
    }
  }
  const refs = codes.map((code) => ({
    $ref: `#/components/schemas/${problemComponentName(code)}`,
  }));
  return {
    description: codes.join(", "),
    headers: errorHeaders(Number(status), codes, idempotent),
    content: {
      "application/problem+json": {
        schema: refs.length === 1 ? refs[0] : { oneOf: refs },
        examples: Object.fromEntries(
          codes.map((code) => [code, { summary: code, value: problemExample(code, path) }]),
        ),
      },
    },
  };
}

/** Error statuses an operation can answer, with the codes behind each, in status order. */
function errorStatuses(note: RouteNote, hasPathIds: boolean): [string, ErrorCode[]][] {
  const codes = new Set<ErrorCode>(note.operation?.errors ?? []);
  if (note.json || note.query || note.param) codes.add("VALIDATION_FAILED");
  if (note.json) {
    codes.add("MALFORMED_JSON");
    codes.add("PAYLOAD_TOO_LARGE");
    codes.add("UNSUPPORTED_MEDIA_TYPE");
  }
  if (note.auth) {
    codes.add("UNAUTHORIZED");
    codes.add("INVALID_TOKEN");
    codes.add("TOKEN_EXPIRED");
  }
  if (note.roles) codes.add("FORBIDDEN");
  if (note.operation?.ifMatch) codes.add("PRECONDITION_FAILED");
  if (note.operation?.ifMatch === "required") codes.add("PRECONDITION_REQUIRED");
  if (hasPathIds) codes.add("NOT_FOUND");
  // Every /api route is behind the per-token or per-address limits, and any may fail unexpectedly.
  codes.add("RATE_LIMITED");
  codes.add("INTERNAL");
  const byStatus = new Map<string, ErrorCode[]>();
  for (const code of codes) {
    const status = String(errorStatus[code]);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return [...byStatus.entries()].sort(([a], [b]) => Number(a) - Number(b));
}

/** Used only while a route still lacks `describeRoute`; the document check reports those. */
function fallbackOperationId(method: string, path: string): string {
  return `${method.toLowerCase()}${path.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase())}`;
}

/**
 * What a client generator needs and a route's notes lack, one line per gap
 * (empty when the document is complete). Tests assert it is empty.
 */
export function documentGaps(document: OpenApiDocument): string[] {
  const gaps: string[] = [];
  const ids = new Map<string, string>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      const where = `${method.toUpperCase()} ${path}`;
      const op = raw as {
        operationId?: string;
        summary?: string;
        responses?: Record<string, { content?: unknown }>;
      };
      if (!op.summary) {
        gaps.push(
          `${where}: no describeRoute({ id, summary, response, errors }) note; add one as the route's first handler`,
        );
        continue;
      }
      if (!/^[a-z][A-Za-z]*(\.[a-z][A-Za-z]*)+$/.test(op.operationId ?? "")) {
        gaps.push(`${where}: operationId "${op.operationId}" is not "<resource>.<verb>"`);
      }
      const previous = ids.get(op.operationId ?? "");
      if (previous) gaps.push(`${where}: operationId "${op.operationId}" is also ${previous}'s`);
      ids.set(op.operationId ?? "", where);
      const statuses = Object.keys(op.responses ?? {});
      const success = statuses.filter((s) => s.startsWith("2"));
      if (success.length !== 1) gaps.push(`${where}: needs exactly one success response`);
      for (const status of success) {
        if (status !== "204" && !op.responses?.[status]?.content) {
          gaps.push(`${where}: the ${status} response has no schema`);
        }
      }
      if (!statuses.includes("500") || !statuses.includes("429")) {
        gaps.push(`${where}: error statuses missing`);
      }
    }
  }
  return gaps;
}

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
  contact?: { name: string; url: string };
}

/** Who answers questions about the API (the same for every function). */
function withContact(info: OpenApiInfo): OpenApiInfo {
  return { ...info, contact: info.contact ?? { name: "minispod", url: "https://minispod.dev" } };
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
  const components: Components = new Map();
  for (const { method, path, notes } of groups.values()) {
    const inherited = scoped
      .filter(({ prefix }) => path === prefix || path.startsWith(`${prefix}/`))
      .map(({ note }) => note);
    const merged: RouteNote = Object.assign({}, ...inherited, ...notes);
    const note: RouteNote = merged.json
      ? merged
      : { ...merged, ...(merged.operation?.body ? { json: merged.operation.body } : {}) };
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
    const operation = note.operation;
    const responses: Record<string, unknown> = {};
    if (operation) {
      const { response } = operation;
      const status = String(response.status ?? 200);
      const headers = successHeaders({
        created: "location" in response,
        idempotent: operation.idempotent ?? false,
        etag: operation.etag ?? false,
      });
      responses[status] =
        "schema" in response
          ? {
              description: response.description ?? "Success",
              headers,
              content: { "application/json": { schema: schemaOf(response.schema, components) } },
            }
          : { description: response.description ?? "Done; no body", headers };
    }
    for (const [status, codes] of errorStatuses(note, pathNames.length > 0)) {
      responses[status] = problemResponse(
        status,
        codes,
        openApiPath,
        operation?.idempotent ?? false,
        components,
      );
    }
    if (operation?.idempotent) {
      parameters.push({
        name: "Idempotency-Key",
        in: "header",
        required: false,
        description:
          "Same key and same body within 24 h return the first answer without repeating the work; the same key with another body answers 422.",
        schema: { type: "string", minLength: 1, maxLength: 255 },
      });
    }
    if (operation?.ifMatch) {
      parameters.push({
        name: "If-Match",
        in: "header",
        required: operation.ifMatch === "required",
        description:
          "The `ETag` of your last read: the update applies only to that version (412 otherwise).",
        schema: { type: "string" },
      });
    }
    for (const header of operation?.headers ?? []) {
      parameters.push({
        name: header.name,
        in: "header",
        required: header.required ?? true,
        description: header.description,
        schema: { type: "string" },
      });
    }
    const tag = path.split("/")[3] ?? "api";
    paths[openApiPath] ??= {};
    paths[openApiPath][method.toLowerCase()] = {
      operationId: operation?.id ?? fallbackOperationId(method, openApiPath),
      ...(operation ? { summary: operation.summary } : {}),
      tags: [tag],
      description: [
        operation?.description,
        note.auth ? "Needs a bearer access token." : "Needs no access token.",
        note.roles && `Roles: ${note.roles.join(", ")}.`,
        operation?.idempotent &&
          "Send an `Idempotency-Key` to retry safely: a replayed answer carries `Idempotent-Replayed: true`.",
      ]
        .filter(Boolean)
        .join("\n\n"),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(note.json
        ? {
            requestBody: {
              required: true,
              content: { "application/json": { schema: schemaOf(note.json, components) } },
            },
          }
        : {}),
      // Public operations say so explicitly, so generators do not attach a token.
      security: note.auth ? [{ bearer: [] }] : [],
      responses,
    };
  }

  // The events customers receive are documented with the routes that manage their endpoints.
  const withWebhooks = Object.keys(paths).some((path) => path.startsWith("/api/v1/webhooks"));
  const events = withWebhooks ? webhookSection() : undefined;
  return {
    openapi: "3.1.0",
    info: withContact(info),
    servers: [{ url: "/" }],
    tags: tagsOf(paths, events?.webhooks),
    paths,
    ...(events ? { webhooks: events.webhooks } : {}),
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      headers: responseHeaders,
      schemas: sortedByName({
        ...(Object.fromEntries(components) as Record<string, JsonSchema>),
        ...events?.schemas,
        Problem: problemSchema,
      }),
    },
  };
}

export type OpenApiDocument = ReturnType<typeof openApiDocument>;

/** Every tag the operations use, declared once (client generators group methods by them). */
function tagsOf(...sections: (Record<string, unknown> | undefined)[]) {
  const names = new Set<string>();
  for (const section of sections) {
    for (const item of Object.values(section ?? {})) {
      for (const operation of Object.values(item as Record<string, { tags?: string[] }>)) {
        for (const tag of operation.tags ?? []) names.add(tag);
      }
    }
  }
  return [...names].sort().map((name) => ({
    name,
    description:
      name === "webhook events"
        ? "What minispod POSTs to your webhook endpoints."
        : `The ${name} operations.`,
  }));
}

/** Components in name order, so the document does not depend on route order. */
function sortedByName<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(
    Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

/** Merges the documents of several functions (the local runner serves one for all). */
export function mergeOpenApi(documents: OpenApiDocument[], info: OpenApiInfo): OpenApiDocument {
  const paths: OpenApiDocument["paths"] = {};
  const webhooks: Record<string, unknown> = {};
  for (const document of documents) {
    for (const [path, operations] of Object.entries(document.paths)) {
      paths[path] = { ...paths[path], ...operations };
    }
    Object.assign(webhooks, document.webhooks);
  }
  const sortedPaths = sortedByName(paths);
  const sortedWebhooks = sortedByName(webhooks);
  const empty = openApiDocument({ routes: [] } as unknown as Hono, info).components;
  const schemas: Record<string, JsonSchema> = { ...empty.schemas };
  for (const document of documents) {
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      // One name, one shape across functions: a client has one `User` type.
      const previous = schemas[name];
      if (previous && !sameJson(previous, schema)) {
        throw new Error(`Functions define component "${name}" differently; align or rename one.`);
      }
      schemas[name] = schema;
    }
  }
  return {
    openapi: "3.1.0",
    info: withContact(info),
    servers: [{ url: "/" }],
    tags: tagsOf(sortedPaths, sortedWebhooks),
    paths: sortedPaths,
    ...(Object.keys(sortedWebhooks).length > 0 ? { webhooks: sortedWebhooks } : {}),
    components: {
      ...empty,
      schemas: sortedByName(schemas) as OpenApiDocument["components"]["schemas"],
    },
  };
}
