import type { ValidationTargets } from "hono";
import { validator } from "hono/validator";
import * as v from "valibot";
import { AppError, type FieldError } from "./errors";
import { describeIssue, sentence } from "./issues";
import { annotate } from "./openapi";

/** valibot issues -> `[{ field: "resources.cpu", message: "is required" }]`, in plain words. */
export function fieldErrors(issues: readonly v.BaseIssue<unknown>[]): FieldError[] {
  const seen = new Set<string>();
  const errors: FieldError[] = [];
  // One message per field: a pipe goes on checking after the first failure.
  for (const issue of issues) {
    const error = describeIssue(issue);
    if (seen.has(error.field)) continue;
    seen.add(error.field);
    errors.push(error);
  }
  return errors;
}

/** The years a date may fall in at the edge: PostgreSQL and every client agree on these. */
export const DATE_RANGE = { minYear: 1970, maxYear: 9999 } as const;

function joinPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/**
 * The first text in `value` (keys included) that PostgreSQL cannot store or a
 * client cannot print: a NUL character, or a lone UTF-16 surrogate (no valid
 * UTF-8 exists for it). Rejected rather than stripped: a name or a reason
 * that silently changed is worse than a 400 the client can act on.
 */
export function findUnsafeText(value: unknown, path = ""): FieldError | undefined {
  if (typeof value === "string") {
    if (value.includes("\0")) return { field: path, message: "must not contain a NUL character" };
    if (!value.isWellFormed()) {
      return { field: path, message: "must not contain a lone surrogate (invalid Unicode)" };
    }
    return undefined;
  }
  if (value === null || typeof value !== "object") return undefined;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = findUnsafeText(item, joinPath(path, String(i)));
      if (found) return found;
    }
    return undefined;
  }
  if (value instanceof Date) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const keyProblem = findUnsafeText(key, joinPath(path, "(key)"));
    if (keyProblem) return { ...keyProblem, field: path || "(key)" };
    const found = findUnsafeText(item, joinPath(path, key));
    if (found) return found;
  }
  return undefined;
}

/** The first Date in `value` outside DATE_RANGE (or invalid), after parsing. */
export function findDateOutOfRange(value: unknown, path = ""): FieldError | undefined {
  if (value instanceof Date) {
    const year = value.getUTCFullYear();
    if (Number.isNaN(year) || year < DATE_RANGE.minYear || year > DATE_RANGE.maxYear) {
      return {
        field: path,
        message: `must be a date between ${DATE_RANGE.minYear} and ${DATE_RANGE.maxYear}`,
      };
    }
    return undefined;
  }
  if (value === null || typeof value !== "object") return undefined;
  for (const [key, item] of Object.entries(value)) {
    const found = findDateOutOfRange(item, joinPath(path, key));
    if (found) return found;
  }
  return undefined;
}

function edgeError(problem: FieldError, what: string): AppError {
  return new AppError("VALIDATION_FAILED", {
    detail: `Invalid ${what}: ${sentence(problem, `the ${what}`)}.`,
    fields: [problem],
  });
}

/**
 * The first query parameter whose value is not valid UTF-8 once percent-decoded
 * (e.g. `%ED%A0%80`, a lone surrogate's bytes). Hono keeps such a value as its
 * literal `%..` text; it is refused instead, like a lone surrogate in JSON.
 */
function undecodableQuery(url: string): FieldError | undefined {
  const start = url.indexOf("?");
  if (start < 0 || !url.includes("%", start)) return undefined;
  for (const pair of url.slice(start + 1).split("&")) {
    const [key = "", value = ""] = pair.split("=", 2);
    try {
      decodeURIComponent(key);
      decodeURIComponent(value);
    } catch {
      return { field: safeDecode(key), message: "is not valid UTF-8" };
    }
  }
  return undefined;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return "(query)";
  }
}

/** Parses `value` or throws a 400 VALIDATION_FAILED listing the offending fields. */
export function parseOrThrow<S extends v.GenericSchema>(
  schema: S,
  value: unknown,
  what = "request",
): v.InferOutput<S> {
  // The one rule for text and time at the edge: the raw text first (a NUL must
  // never reach a transform or a query), then any date the schema produced.
  const unsafe = findUnsafeText(value);
  if (unsafe) throw edgeError(unsafe, what);
  const result = v.safeParse(schema, value);
  if (result.success) {
    const outOfRange = findDateOutOfRange(result.output);
    if (outOfRange) throw edgeError(outOfRange, what);
    return result.output;
  }
  const fields = fieldErrors(result.issues);
  throw new AppError("VALIDATION_FAILED", {
    detail: `Invalid ${what}: ${fields.map((f) => sentence(f, `the ${what}`)).join("; ")}.`,
    fields,
  });
}

function validate<T extends keyof ValidationTargets, S extends v.GenericSchema>(
  target: T,
  schema: S,
  what: string,
) {
  const middleware = validator(target, (value, c) => {
    if (
      target === "json" &&
      (value === null || typeof value !== "object" || Array.isArray(value))
    ) {
      throw new AppError("VALIDATION_FAILED", {
        detail: "The request body must be a JSON object.",
        fields: [{ field: "", message: "expected a JSON object" }],
      });
    }
    if (target === "query") {
      const undecodable = undecodableQuery(c.req.url);
      if (undecodable) throw edgeError(undecodable, what);
    }
    return parseOrThrow(schema, value, what) as v.InferOutput<S>;
  });
  return annotate(middleware, { [target]: schema });
}

/**
 * Validates the JSON body with a valibot schema; handlers read it with
 * `c.req.valid("json")`, fully typed.
 *
 * @example
 * app.post("/login", jsonBody(v.object({ email: v.string() })), (c) => c.json(c.req.valid("json")));
 */
export const jsonBody = <S extends v.GenericSchema>(schema: S) =>
  validate("json", schema, "request body");
export const queryParams = <S extends v.GenericSchema>(schema: S) =>
  validate("query", schema, "query");
export const pathParams = <S extends v.GenericSchema>(schema: S) =>
  validate("param", schema, "path");

/** Common field schemas. */
export const fields = {
  email: () =>
    v.pipe(
      v.string("must be a string"),
      v.trim(),
      v.nonEmpty("is required"),
      v.maxLength(254, "is too long"),
      v.email("must be an email address"),
      v.toLowerCase(),
    ),
  uuid: () => v.pipe(v.string("must be a string"), v.uuid("must be a UUID")),
  name: () =>
    v.pipe(
      v.string("must be a string"),
      v.trim(),
      v.nonEmpty("is required"),
      v.maxLength(100, "is too long"),
    ),
};

export const idParam = v.object({ id: fields.uuid() });
