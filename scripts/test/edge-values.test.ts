import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { signPaymentWebhook } from "@minispod/billing/payments";
import type { OpenApiDocument } from "@minispod/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localJourney } from "./support/journey";

/**
 * Every operation of the merged API document, over a real socket, with valid
 * auth for the route (admin routes with an admin's token): each string or
 * date parameter and body field gets a NUL, a lone surrogate, year 0000 (date
 * fields), a 10 KB string and a wrong type, the rest of the request valid.
 * Each answer must be a 4xx problem+json (a 400 naming the field), never a
 * 5xx and never a success.
 */
const PAYMENT_SECRET = "edge values payment secret";
/**
 * The provider's callback replaces NUL and lone surrogates instead of refusing
 * them (see payment-webhook.ts: a 400 would lose a taken payment): for those two
 * it must answer without a 5xx, not necessarily with a 4xx.
 */
const REPLACES_TEXT = "/api/v1/payments/webhook";
const journey = localJourney("edge-values", {
  AUTH_RATE_LIMIT_LOGIN: "1000000",
  AUTH_RATE_LIMIT_REGISTER: "1000000",
  AUTH_RATE_LIMIT_RESET: "1000000",
  API_RATE_LIMIT_PER_TOKEN: "0",
  PAYMENT_WEBHOOK_SECRET: PAYMENT_SECRET,
});

interface Schema {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  minimum?: number;
  minItems?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  examples?: unknown[];
  example?: unknown;
}
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Schema;
}
interface Operation {
  operationId: string;
  description?: string;
  parameters?: Parameter[];
  security?: unknown[];
  requestBody?: { content: { "application/json": { schema: Schema } } };
}

const TEN_KB = "x".repeat(10 * 1024);
const YEAR_ZERO = "0000-01-01T00:00:00Z";

let base: string;
let server: ReturnType<typeof serve>;
let document: OpenApiDocument;
let userToken: string;
let adminToken: string;

function variants(schema: Schema): Schema[] {
  return [schema, ...(schema.anyOf ?? []), ...(schema.oneOf ?? [])];
}
const typeOf = (schema: Schema) =>
  variants(schema)
    .flatMap((s) => (Array.isArray(s.type) ? s.type : [s.type]))
    .filter((t) => t && t !== "null");
const isString = (schema: Schema) => typeOf(schema).includes("string");
const isDate = (schema: Schema) =>
  variants(schema).some((s) => s.format === "date-time" || s.format === "date");

/** A value the schema accepts, as far as a document can say. */
function sample(schema: Schema, name: string): unknown {
  const s = variants(schema).find((x) => x.type !== "null") ?? schema;
  if (s.const !== undefined) return s.const;
  if (s.enum?.length) return s.enum[0];
  if (s.examples?.length) return s.examples[0];
  if (s.example !== undefined) return s.example;
  const type = typeOf(s)[0];
  if (type === "object") return sampleObject(s);
  if (type === "array") {
    return Array.from({ length: s.minItems ?? 0 }, () => sample(s.items ?? {}, name));
  }
  if (type === "integer" || type === "number") return Math.max(s.minimum ?? 1, 1);
  if (type === "boolean") return true;
  if (s.format === "email") return `edge-${randomUUID()}@example.com`;
  if (s.format === "uuid") return randomUUID();
  if (s.format === "uri" || s.format === "url") return "https://example.com/hook";
  if (isDate(s)) return "2026-01-01T00:00:00Z";
  return "a".repeat(Math.max(s.minLength ?? 1, 12));
}
function sampleObject(schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of schema.required ?? []) {
    const property = schema.properties?.[key];
    if (property) out[key] = sample(property, key);
  }
  return out;
}

/** Every string field of a body schema, nested objects included, as dotted paths. */
function stringFields(schema: Schema, prefix = ""): { path: string[]; schema: Schema }[] {
  const found: { path: string[]; schema: Schema }[] = [];
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    const path = prefix ? [...prefix.split("."), key] : [key];
    if (isString(property)) found.push({ path, schema: property });
    const object = variants(property).find((s) => s.properties);
    if (object) found.push(...stringFields(object, path.join(".")));
  }
  return found;
}

function withValue(body: Record<string, unknown>, path: string[], value: unknown) {
  const copy = structuredClone(body);
  let at: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    if (typeof at[key] !== "object" || at[key] === null) at[key] = {};
    at = at[key] as Record<string, unknown>;
  }
  at[path.at(-1) as string] = value;
  return copy;
}

interface Case {
  label: string;
  field: string;
  url: string;
  init: RequestInit;
}

function casesFor(path: string, method: string, op: Operation): Case[] {
  const headers: Record<string, string> = { "idempotency-key": randomUUID() };
  if (op.security?.length) {
    headers.authorization = `Bearer ${op.description?.includes("Roles: admin") ? adminToken : userToken}`;
  }
  const params = op.parameters ?? [];
  const pathValue = (p: Parameter) => String(sample(p.schema ?? {}, p.name));
  const url = (override?: { name: string; raw: string }) => {
    let pathname = path;
    for (const p of params.filter((x) => x.in === "path")) {
      const raw = override?.name === p.name ? override.raw : encodeURIComponent(pathValue(p));
      pathname = pathname.replace(`{${p.name}}`, raw);
    }
    const query = new URLSearchParams();
    for (const p of params.filter((x) => x.in === "query" && x.required)) {
      if (p.name !== override?.name) query.set(p.name, String(sample(p.schema ?? {}, p.name)));
    }
    let search = query.toString();
    const q = params.find((x) => x.in === "query" && x.name === override?.name);
    if (q && override)
      search += `${search ? "&" : ""}${encodeURIComponent(q.name)}=${override.raw}`;
    return `${base}${pathname}${search ? `?${search}` : ""}`;
  };
  const bodySchema = op.requestBody?.content["application/json"].schema;
  const validBody = bodySchema ? sampleObject(bodySchema) : undefined;
  const init = (body?: Record<string, unknown>): RequestInit => ({
    method: method.toUpperCase(),
    headers: { ...headers, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

  const cases: Case[] = [];
  for (const p of params.filter((x) => x.in === "query" || x.in === "path")) {
    const schema = p.schema ?? {};
    if (!isString(schema) && !isDate(schema)) continue;
    const raws: [string, string][] = [
      ["NUL", "a%00b"],
      // A lone surrogate has no UTF-8 form; this is its CESU-8 spelling, invalid UTF-8.
      ["lone surrogate", "%ED%A0%80"],
      ["10 KB string", TEN_KB],
    ];
    if (isDate(schema)) raws.push(["year 0000", encodeURIComponent(YEAR_ZERO)]);
    for (const [label, raw] of raws) {
      cases.push({ label, field: p.name, url: url({ name: p.name, raw }), init: init(validBody) });
    }
    if (p.in === "query") {
      // A repeated parameter is the query's wrong type: a list where one value goes.
      const repeated = `${encodeURIComponent(pathValue(p))}&${p.name}=${encodeURIComponent(pathValue(p))}`;
      cases.push({
        label: "wrong type",
        field: p.name,
        url: url({ name: p.name, raw: repeated }),
        init: init(validBody),
      });
    }
  }
  if (bodySchema && validBody) {
    for (const { path: fieldPath, schema } of stringFields(bodySchema)) {
      const values: [string, unknown][] = [
        ["NUL", "a\u0000b"],
        ["lone surrogate", "a\ud800b"],
        ["10 KB string", TEN_KB],
        ["wrong type", 12345],
      ];
      if (isDate(schema)) values.push(["year 0000", YEAR_ZERO]);
      for (const [label, value] of values) {
        cases.push({
          label,
          field: fieldPath.join("."),
          url: url(),
          init: init(withValue(validBody, fieldPath, value)),
        });
      }
    }
  }
  return cases;
}

beforeAll(async () => {
  await new Promise<void>((resolve) => {
    server = serve({ fetch: journey.runner.app.fetch, port: 0, hostname: "127.0.0.1" }, () =>
      resolve(),
    );
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  document = (await (await fetch(`${base}/openapi.json`)).json()) as OpenApiDocument;
  const post = (path: string, body: unknown) =>
    fetch(`${base}/api/v1${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const user = await post("/auth/register", {
    email: "edge-user@example.com",
    password: "a long password",
    name: "Edge",
  });
  userToken = (await user.json()).accessToken;
  const admin = await post("/auth/login", {
    email: "admin@minispod.local",
    password: "admin password 1",
  });
  adminToken = (await admin.json()).accessToken;
}, 120_000);
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

describe("edge values on every operation of the merged document", () => {
  it("answers NUL, lone surrogates, year 0000, 10 KB strings and wrong types with a 4xx problem naming the field", async () => {
    const failures: string[] = [];
    let sent = 0;
    const operations = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item as Record<string, Operation>).map(([method, op]) => ({
        path,
        method,
        op,
      })),
    );
    for (const { path, method, op } of operations) {
      for (const c of casesFor(path, method, op)) {
        sent++;
        if (path === REPLACES_TEXT) {
          const headers = c.init.headers as Record<string, string>;
          headers["payment-signature"] = signPaymentWebhook(PAYMENT_SECRET, String(c.init.body));
        }
        const res = await fetch(c.url, c.init);
        const type = res.headers.get("content-type") ?? "";
        const body = (await res.text()) || "{}";
        const what = `${method.toUpperCase()} ${path} ${c.field} (${c.label}) -> ${res.status}`;
        const replaced =
          path === REPLACES_TEXT && (c.label === "NUL" || c.label === "lone surrogate");
        if (replaced && res.status < 500) continue;
        if (res.status < 400 || res.status >= 500 || res.status === 429) {
          failures.push(`${what} ${body.slice(0, 160)}`);
          continue;
        }
        if (!type.includes("application/problem+json")) {
          failures.push(`${what} not problem+json (${type})`);
          continue;
        }
        if (res.status === 400) {
          const fields = ((JSON.parse(body) as { errors?: { field: string }[] }).errors ?? []).map(
            (e) => e.field,
          );
          if (!fields.some((f) => f === c.field || f.startsWith(`${c.field}.`))) {
            failures.push(`${what} names ${JSON.stringify(fields)}, not ${c.field}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    // Admin operations are covered, with an admin's token.
    expect(operations.some(({ path }) => path.startsWith("/api/v1/admin"))).toBe(true);
    expect(sent).toBeGreaterThan(200);
  }, 600_000);
});
