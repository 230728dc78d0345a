import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { baseEnvSchema, EnvError, envField, parseEnv } from "../src/env";
import { describeIssue } from "../src/issues";
import { exportKeyPem, generateSigningKey } from "../src/jwt";
import { fieldErrors } from "../src/validation";

const issuesOf = (schema: v.GenericSchema, value: unknown) => {
  const result = v.safeParse(schema, value);
  if (result.success) throw new Error("expected a failure");
  return fieldErrors(result.issues);
};

describe("validation messages in plain words", () => {
  it("says a missing field is required, never valibot's 'Invalid key' wording", () => {
    expect(issuesOf(v.object({ name: v.string() }), {})).toEqual([
      { field: "name", message: "is required" },
    ]);
  });

  it("names the expected type and choices without echoing the value", () => {
    const errors = issuesOf(
      v.object({
        size: v.number(),
        tier: v.picklist(["small", "large"]),
        tags: v.array(v.string()),
        code: v.pipe(v.string(), v.minLength(3)),
        email: v.pipe(v.string(), v.email()),
      }),
      { size: "secret-ish", tier: "huge", tags: "x", code: "ab", email: "nope" },
    );
    expect(errors).toEqual([
      { field: "size", message: "must be a number" },
      { field: "tier", message: "must be one of small, large" },
      { field: "tags", message: "must be a list" },
      { field: "code", message: "must have at least 3 characters" },
      { field: "email", message: "must be an email address" },
    ]);
    expect(JSON.stringify(errors)).not.toContain("secret-ish");
  });

  it("keeps a schema's own message and gives one message per field", () => {
    const schema = v.object({
      count: v.pipe(v.number(), v.integer("must be whole"), v.minValue(10, "must be at least 10")),
    });
    expect(issuesOf(schema, { count: 1.5 })).toEqual([
      { field: "count", message: "must be whole" },
    ]);
  });

  it("describes nested paths with dots", () => {
    const result = v.safeParse(v.object({ a: v.object({ b: v.string() }) }), { a: {} });
    expect(result.issues && describeIssue(result.issues[0]!)).toEqual({
      field: "a.b",
      message: "is required",
    });
  });
});

describe("environment problems", () => {
  const problems = (source: Record<string, string | undefined>) => {
    try {
      parseEnv(baseEnvSchema, source);
    } catch (error) {
      if (error instanceof EnvError) return error.problems;
      throw error;
    }
    throw new Error("expected an EnvError");
  };

  it("says DATABASE_URL is required", () => {
    expect(problems({})).toEqual(["DATABASE_URL is required"]);
  });

  it("reports PORT=abc once", () => {
    expect(problems({ DATABASE_URL: "pglite://memory", PORT: "abc" })).toEqual([
      "PORT must be an integer",
    ]);
  });

  it("checks that JWT_PUBLIC_KEY is an Ed25519 public key, without echoing it", async () => {
    const { publicPem, privatePem } = await exportKeyPem(await generateSigningKey());
    const base = { DATABASE_URL: "pglite://memory" };
    expect(problems({ ...base, JWT_PUBLIC_KEY: "not a key" })).toEqual([
      expect.stringMatching(/^JWT_PUBLIC_KEY must be an Ed25519 public key/),
    ]);
    // A private key where the public one belongs is refused too.
    expect(problems({ ...base, JWT_PUBLIC_KEY: privatePem })[0]).toMatch(/^JWT_PUBLIC_KEY /);
    expect(parseEnv(baseEnvSchema, { ...base, JWT_PUBLIC_KEY: publicPem }).JWT_PUBLIC_KEY).toBe(
      publicPem,
    );
    // As often pasted into env files: one line with literal \n.
    const oneLine = publicPem.trim().replaceAll("\n", "\\n");
    expect(parseEnv(baseEnvSchema, { ...base, JWT_PUBLIC_KEY: oneLine }).JWT_PUBLIC_KEY).toBe(
      oneLine,
    );
  });

  it("checks a private key field", async () => {
    const { privatePem } = await exportKeyPem(await generateSigningKey());
    const schema = v.object({ KEY: envField.ed25519PrivateKey() });
    expect(parseEnv(schema, { KEY: privatePem }).KEY).toBe(privatePem);
    expect(() =>
      parseEnv(schema, { KEY: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----" }),
    ).toThrow(/KEY must be an Ed25519 private key/);
  });
});
