import type { AppEnv } from "@minispod/shared";
import { createHarness, type Harness, json, type TestUser } from "@minispod/shared/testing";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webhooksFunction } from "../src/function";
import { bearer } from "./helpers";

let h: Harness;
let app: Hono<AppEnv>;
let alice: TestUser;

beforeAll(async () => {
  h = await createHarness();
  // Guard on (the default).
  app = await h.app(webhooksFunction);
  alice = await h.user();
});
afterAll(() => h.close());

const post = (url: string) =>
  app.request("/api/v1/webhooks", json({ url, events: ["subscription.activated"] }, bearer(alice)));

describe("URL guard at creation: IP literals in every spelling", () => {
  it.each([
    // new URL() rewrites these to hex groups ([::7f00:1], [64:ff9b::a9fe:a9fe], …).
    "https://[::127.0.0.1]/x",
    "https://[::ffff:0:127.0.0.1]/x",
    "https://[64:ff9b::169.254.169.254]/latest",
    "https://[2002:a00:1::]/x",
    "https://[fec0::1]/x",
  ])("refuses %s", async (url) => {
    const response = await post(url);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: { field: string; message: string }[] };
    expect(body.errors).toEqual([
      { field: "url", message: expect.stringContaining("must not point at a private") },
    ]);
  });
});

describe("URL guard at creation: localhost with a trailing dot", () => {
  it.each(["https://localhost./x", "https://LOCALHOST.:8443/x", "https://api.localhost./x"])(
    "refuses %s like localhost itself",
    async (url) => {
      const response = await post(url);
      expect(response.status).toBe(400);
      const body = (await response.json()) as { errors: { field: string; message: string }[] };
      expect(body.errors).toEqual([
        { field: "url", message: expect.stringContaining("must not point at a private") },
      ]);
    },
  );
});
