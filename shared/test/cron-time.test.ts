import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { AppEnv } from "../src/app-env";
import { cronRoutes } from "../src/events/consumer";

describe("cronRoutes", () => {
  const seen: Date[] = [];
  const jobs = cronRoutes(
    {
      sweep: async (now) => {
        seen.push(now);
        return {};
      },
    },
    { now: () => new Date("2030-01-01T00:00:00.000Z") },
  );
  // cronRoutes' handler logs through the request's logger, which the shared app installs.
  const app = new Hono<AppEnv>()
    .use("*", async (c, next) => {
      c.set("logger", { info: () => {} } as never);
      await next();
    })
    .route("/", jobs);
  const call = (headers: Record<string, string>) =>
    app.request("/sweep", { method: "POST", headers }, undefined);

  it("sweeps as of the PingSource event's time (ce-time) when it sends one", async () => {
    expect((await call({ "ce-time": "2031-06-01T12:00:00.000Z" })).status).toBe(200);
    expect(seen.at(-1)?.toISOString()).toBe("2031-06-01T12:00:00.000Z");
  });

  it("falls back to the function's clock without a valid event time", async () => {
    await call({ "ce-time": "not a time" });
    expect(seen.at(-1)?.toISOString()).toBe("2030-01-01T00:00:00.000Z");
    await call({});
    expect(seen.at(-1)?.toISOString()).toBe("2030-01-01T00:00:00.000Z");
  });
});
