import { parseEnv } from "@minispod/shared";
import { describe, expect, it } from "vitest";
import { dispatcherEnvSchema } from "../src/env";

const base = {
  DATABASE_URL: "postgres://localhost/minispod",
  JWT_JWKS_URL: "http://auth.minispod.svc/api/v1/auth/jwks.json",
};

describe("WEBHOOK_ALLOW_PRIVATE outside development", () => {
  it("webhook-dispatcher refuses to start with the SSRF guard off in production", () => {
    const schema = dispatcherEnvSchema;
    expect(() =>
      parseEnv(schema, { ...base, NODE_ENV: "production", WEBHOOK_ALLOW_PRIVATE: "true" }),
    ).toThrow(/WEBHOOK_ALLOW_PRIVATE/);
    // Off in production, or on in development, is fine.
    expect(parseEnv(schema, { ...base, NODE_ENV: "production" }).WEBHOOK_ALLOW_PRIVATE).toBe(false);
    expect(
      parseEnv(schema, { ...base, NODE_ENV: "development", WEBHOOK_ALLOW_PRIVATE: "true" })
        .WEBHOOK_ALLOW_PRIVATE,
    ).toBe(true);
  });
});
