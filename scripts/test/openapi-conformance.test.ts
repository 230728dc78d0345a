import { randomUUID } from "node:crypto";
import type { OpenApiDocument } from "@minispod/shared";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { localJourney } from "./support/journey";

/**
 * The document agrees with the server. Every operation of the merged document
 * is called on the local runner (real PostgreSQL and Redis) with a request
 * generated from its own schemas, and every answer is checked against the
 * document: its status is documented, its content type and body validate
 * (Ajv, JSON Schema 2020-12), its required headers are there. A request the
 * document says is valid must not be answered 400.
 */
const journey = localJourney("conformance", { K8S_SIMULATED_DELAY_MS: "0" });

type Schema = Record<string, unknown>;
interface Operation {
  operationId: string;
  description?: string;
  security?: unknown[];
  parameters?: { name: string; in: string; required?: boolean; schema: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<
    string,
    {
      headers?: Record<string, { $ref?: string }>;
      content?: Record<string, { schema: Schema }>;
    }
  >;
}
type Header = { required?: boolean; schema: Schema };

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

/** Calls that end the session or remove what later calls use go last. */
const LAST = /logout|password|disable|delete|cancel|retire|revoke|rotate|undo/i;

function resolve(doc: OpenApiDocument, schema: Schema): Schema {
  const ref = schema.$ref as string | undefined;
  if (!ref) return schema;
  const name = ref.replace("#/components/schemas/", "");
  return resolve(doc, (doc.components.schemas as Record<string, Schema>)[name]!);
}

/** A value valid against `schema`: required members only, smallest sizes, fixed seed. */
function sample(doc: OpenApiDocument, raw: Schema, name = "", full = false): unknown {
  const schema = resolve(doc, raw);
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if ("default" in schema) return schema.default;
  if (Array.isArray(schema.examples)) return schema.examples[0];
  const options = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (options) {
    const notNull = options.find((o) => resolve(doc, o).type !== "null") ?? options[0]!;
    return sample(doc, notNull, name, full);
  }
  if (Array.isArray(schema.allOf)) {
    return Object.assign(
      {},
      ...(schema.allOf as Schema[]).map((part) => sample(doc, part, name, full) as object),
    );
  }
  switch (schema.type) {
    case "object": {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = (schema.required ?? []) as string[];
      // Required members, then optional ones until `minProperties` is met.
      const optional = Object.keys(properties).filter((key) => !required.includes(key));
      const extra = full
        ? optional.length
        : Math.max(0, Number(schema.minProperties ?? 0) - required.length);
      const keys = [...required, ...optional.slice(0, extra)];
      return Object.fromEntries(keys.map((key) => [key, sample(doc, properties[key]!, key, full)]));
    }
    case "array": {
      const count = Math.max(Number(schema.minItems ?? 0), schema.maxItems === 0 ? 0 : 1);
      return Array.from({ length: count }, () => sample(doc, schema.items as Schema, name, full));
    }
    case "integer":
    case "number": {
      const min =
        schema.minimum !== undefined
          ? Number(schema.minimum)
          : schema.exclusiveMinimum !== undefined
            ? Number(schema.exclusiveMinimum) + 1
            : 1;
      return schema.maximum !== undefined ? Math.min(min, Number(schema.maximum)) : min;
    }
    case "boolean":
      return true;
    default:
      return sampleString(schema, name);
  }
}

function sampleString(schema: Schema, name: string): string {
  const min = Number(schema.minLength ?? 1);
  const max = Number(schema.maxLength ?? 64);
  switch (schema.format) {
    case "email":
      return `conformance-${randomUUID().slice(0, 8)}@example.com`;
    case "uri":
      return "https://example.com/minispod-hook";
    case "uuid":
      return randomUUID();
    case "date-time":
      return new Date().toISOString();
  }
  if (typeof schema.pattern === "string") {
    const pattern = new RegExp(schema.pattern);
    // Without a maxLength the pattern alone bounds the value (a digest is 71 characters).
    const cap = schema.maxLength === undefined ? Number.POSITIVE_INFINITY : max;
    const [value] = fc.sample(
      fc.stringMatching(pattern).filter((s) => s.length >= min && s.length <= cap),
      { numRuns: 1, seed: 42 },
    );
    return value!;
  }
  const base = name.toLowerCase().includes("password") ? "a conformance password" : "conformance";
  return base.padEnd(min, "x").slice(0, max);
}

describe("the API answers as its document says", () => {
  it("over every operation: documented statuses, valid bodies and headers, no 400 to valid requests", async () => {
    const { runner } = journey;
    const doc = (await (await runner.app.request("/openapi.json")).json()) as OpenApiDocument;
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const validators = new Map<Schema, ValidateFunction>();
    const validate = (schema: Schema, value: unknown) => {
      let check = validators.get(schema);
      if (!check) {
        // Refs point into the document's components; carried along under the same path.
        check = ajv.compile({ ...schema, components: { schemas: doc.components.schemas } });
        validators.set(schema, check);
      }
      return check(value) ? undefined : ajv.errorsText(check.errors);
    };
    const headers = doc.components.headers as Record<string, Header>;

    // A customer and the local admin, signed in.
    const signIn = async (path: string, body: object) => {
      const res = await runner.app.request(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const session = (await res.json()) as { accessToken: string };
      return session.accessToken;
    };
    const customer = await signIn("/api/v1/auth/register", {
      email: `conformance-${randomUUID().slice(0, 8)}@example.com`,
      password: "a conformance password",
      name: "Conformance",
    });
    const admin = await signIn("/api/v1/auth/login", {
      email: "admin@minispod.local",
      password: "admin password 1",
    });
    // Seed a live subscription so item routes have something to answer about.
    await runner.app.request("/api/v1/subscriptions", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${customer}` },
      body: JSON.stringify({ serviceSlug: "uptime-kuma" }),
    });

    const operations = Object.entries(doc.paths as Record<string, Record<string, Operation>>)
      .flatMap(([path, item]) =>
        METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method]! })),
      )
      .sort((a, b) => {
        const rank = (o: { path: string; method: string; op: Operation }) =>
          (LAST.test(o.op.operationId) ? 100 : 0) +
          (o.path.match(/\{/g)?.length ?? 0) * 10 +
          METHODS.indexOf(o.method as (typeof METHODS)[number]);
        return rank(a) - rank(b) || a.path.localeCompare(b.path);
      });

    // The first item each collection answered, for the item routes under it.
    const known = new Map<string, Record<string, unknown>>();
    const failures: string[] = [];
    const seen = new Set<string>();
    const called = new Set<string>();
    for (const { path, method, op } of operations) {
      const where = `${method.toUpperCase()} ${path} (${op.operationId})`;
      let url = path;
      for (const [, name] of path.matchAll(/\{([A-Za-z0-9_]+)\}/g)) {
        const collection = path.slice(0, path.indexOf(`{${name}}`) - 1);
        const item = known.get(collection);
        const value = item?.[name === "id" || name!.endsWith("Id") ? "id" : name!];
        url = url.replace(`{${name}}`, encodeURIComponent(String(value ?? randomUUID())));
      }
      // A cursor is only valid as a previous page gave it out (the document says so).
      let cursor: string | undefined;
      const queryOf = (full: boolean) => {
        const query = new URLSearchParams();
        if (full && cursor) query.set("cursor", cursor);
        for (const parameter of op.parameters ?? []) {
          if (parameter.name === "cursor") continue;
          if (parameter.in === "query" && (parameter.required || full)) {
            query.set(parameter.name, String(sample(doc, parameter.schema, parameter.name, full)));
          }
        }
        return query;
      };
      const requestSchema = op.requestBody?.content["application/json"]?.schema;
      const bodyOf = (full: boolean) =>
        requestSchema ? sample(doc, requestSchema, "", full) : undefined;
      // The smallest valid request, then one with every optional parameter and member too.
      for (const full of [false, true]) {
        const query = queryOf(full);
        const body = bodyOf(full);
        const isAdmin = /Roles: (ADMIN|SUPER_ADMIN)/.test(op.description ?? "");
        const token = isAdmin ? admin : customer;
        const init: RequestInit = {
          method: method.toUpperCase(),
          headers: {
            ...(op.security?.length ? { authorization: `Bearer ${token}` } : {}),
            ...(body !== undefined ? { "content-type": "application/json" } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        };
        const res = await runner.app.request(`${url}${query.size ? `?${query}` : ""}`, init);
        const status = String(res.status);
        seen.add(`${where} ${status}`);
        called.add(where);
        const documented = op.responses[status];
        if (!documented) {
          failures.push(`${where}: answered ${status}, which is not documented`);
          continue;
        }
        if (status === "400") {
          failures.push(`${where}: a schema-valid request was refused: ${await res.text()}`);
          continue;
        }
        for (const [name, reference] of Object.entries(documented.headers ?? {})) {
          const header = headers[reference.$ref!.replace("#/components/headers/", "")]!;
          const value = res.headers.get(name);
          if (value === null) {
            if (header.required) failures.push(`${where} ${status}: no ${name} header`);
            continue;
          }
          const typed = header.schema.type === "integer" ? Number(value) : value;
          const error = validate(header.schema, typed);
          if (error) failures.push(`${where} ${status}: header ${name}: ${error}`);
        }
        const text = await res.text();
        if (!documented.content) {
          if (text !== "") failures.push(`${where} ${status}: a body where none is documented`);
          continue;
        }
        const type = (res.headers.get("content-type") ?? "").split(";")[0]!;
        const media = documented.content[type];
        if (!media) {
          failures.push(`${where} ${status}: content type ${type} is not documented`);
          continue;
        }
        const value: unknown = JSON.parse(text);
        const error = validate(media.schema, value);
        if (error) failures.push(`${where} ${status}: body: ${error}`);
        const next = (value as { nextCursor?: unknown } | null)?.nextCursor;
        if (typeof next === "string") cursor = next;
        if (res.ok && value && typeof value === "object") {
          const items = (value as { items?: Record<string, unknown>[] }).items;
          if (method === "get" && items?.[0]) known.set(path, items[0]);
          if (method === "post" && "id" in value) {
            known.set(path, value as Record<string, unknown>);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    // Every operation was called; most reached their success answer.
    expect(called.size).toBe(operations.length);
    const succeeded = new Set(
      [...seen].filter((s) => / 2\d\d$/.test(s)).map((s) => s.replace(/ \d+$/, "")),
    );
    expect(succeeded.size).toBeGreaterThan(operations.length / 2);
  }, 180_000);
});
