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

/** Parses `value` or throws a 400 VALIDATION_FAILED listing the offending fields. */
export function parseOrThrow<S extends v.GenericSchema>(
  schema: S,
  value: unknown,
  what = "request",
): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
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
  const middleware = validator(target, (value) => {
    if (
      target === "json" &&
      (value === null || typeof value !== "object" || Array.isArray(value))
    ) {
      throw new AppError("VALIDATION_FAILED", {
        detail: "The request body must be a JSON object.",
        fields: [{ field: "", message: "expected a JSON object" }],
      });
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
