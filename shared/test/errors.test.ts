import { describe, expect, it } from "vitest";
import { createFunctionApp } from "../src/app";
import { createLogger } from "../src/logger";
import { createMetrics } from "../src/metrics";

describe("errors of unreachable dependencies", () => {
  const app = createFunctionApp({
    name: "deps",
    logger: createLogger({ name: "deps", level: "silent" }),
    metrics: createMetrics("deps", { defaultMetrics: false }),
  });
  // The shapes ioredis and postgres.js (wrapped by drizzle) reject with.
  const redisGone = Object.assign(new Error("Reached the max retries per request limit"), {
    name: "MaxRetriesPerRequestError",
  });
  const pgRefused = new Error("Failed query", {
    cause: Object.assign(new Error("connect ECONNREFUSED 10.0.0.5:5432"), { code: "ECONNREFUSED" }),
  });
  app.get("/redis", () => {
    throw redisGone;
  });
  app.get("/pg", () => {
    throw pgRefused;
  });
  app.get("/bug", () => {
    throw new TypeError("x is undefined");
  });

  it.each(["/redis", "/pg"])(
    "answers %s as 503 with Retry-After, without internals",
    async (path) => {
      const response = await app.request(path);
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("5");
      const body = await response.json();
      expect(body.code).toBe("SERVICE_UNAVAILABLE");
      expect(JSON.stringify(body)).not.toContain("10.0.0.5");
    },
  );

  it("still answers a plain bug as 500", async () => {
    expect((await app.request("/bug")).status).toBe(500);
  });
});
