import type * as v from "valibot";

/**
 * The one place that turns valibot issues into plain words, for request
 * validation (`errors: [{ field, message }]`) and for the environment
 * (`DATABASE_URL is required`). Messages a schema chose itself ("must be an
 * email address") are kept; valibot's own wording (`Invalid key: Expected
 * "name" but received undefined`) is rewritten, and never echoes the value,
 * which may be a password or a secret.
 *
 * @example
 * describeIssue(issue) // { field: "name", message: "is required" }
 * sentence(describeIssue(issue)) // "name is required"
 */
export function describeIssue(issue: v.BaseIssue<unknown>): { field: string; message: string } {
  const field = issue.path?.map((p) => String(p.key)).join(".") ?? "";
  return { field, message: plainMessage(issue) };
}

/** `{ field: "name", message: "is required" }` -> `"name is required"`. */
export function sentence(error: { field: string; message: string }, whole = "the value"): string {
  return `${error.field || whole} ${error.message}`;
}

const TYPE_WORDS: Record<string, string> = {
  string: "a string",
  number: "a number",
  boolean: "true or false",
  array: "a list",
  object: "an object",
  loose_object: "an object",
  strict_object: "an object",
  date: "a date",
  bigint: "an integer",
  null: "null",
};

function plainMessage(issue: v.BaseIssue<unknown>): string {
  // valibot's defaults all read "Invalid <what>: …"; anything else is our own wording.
  if (!issue.message.startsWith("Invalid ")) return issue.message;
  const requirement = (issue as { requirement?: unknown }).requirement;
  const unit = Array.isArray(issue.input) ? "items" : "characters";
  if (issue.kind === "schema") {
    if (issue.type.endsWith("object") && issue.received === "undefined" && issue.path?.length) {
      return "is required";
    }
    if (issue.type === "strict_object" && issue.expected === "never") return "is not allowed";
    if (issue.type === "picklist" || issue.type === "enum" || issue.type === "literal") {
      const choices = issue.expected?.replace(/^\(|\)$/g, "").replaceAll('"', "");
      return `must be one of ${choices?.replaceAll(" | ", ", ")}`;
    }
    if (issue.received === "undefined") return "is required";
    return `must be ${TYPE_WORDS[issue.type] ?? issue.type.replaceAll("_", " ")}`;
  }
  switch (issue.type) {
    case "min_length":
    case "non_empty":
      return requirement === 1 || issue.type === "non_empty"
        ? "must not be empty"
        : `must have at least ${requirement} ${unit}`;
    case "max_length":
      return `must have at most ${requirement} ${unit}`;
    case "length":
      return `must have exactly ${requirement} ${unit}`;
    case "min_value":
      return `must be at least ${requirement}`;
    case "max_value":
      return `must be at most ${requirement}`;
    case "integer":
      return "must be a whole number";
    case "email":
      return "must be an email address";
    case "url":
      return "must be a URL";
    case "uuid":
      return "must be a UUID";
    case "iso_timestamp":
    case "iso_date_time":
      return "must be an ISO 8601 date and time";
    case "iso_date":
      return "must be a date (YYYY-MM-DD)";
    default:
      return `is not a valid ${issue.type.replaceAll("_", " ")}`;
  }
}
