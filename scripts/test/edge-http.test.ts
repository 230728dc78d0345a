import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localJourney } from "./support/journey";

/** The smaller edge answers of `npm start`, over a real socket. */
const journey = localJourney("edge-http");
let base: string;
let server: ReturnType<typeof serve>;

beforeAll(async () => {
  await new Promise<void>((resolve) => {
    server = serve({ fetch: journey.runner.app.fetch, port: 0, hostname: "127.0.0.1" }, () =>
      resolve(),
    );
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("401 answers", () => {
  it("name the Bearer scheme, and invalid_token when a token was sent and refused", async () => {
    const missing = await fetch(`${base}/api/v1/subscriptions`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="minispod"');

    const bad = await fetch(`${base}/api/v1/subscriptions`, {
      headers: { authorization: "Bearer not.a.token" },
    });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toBe(
      'Bearer realm="minispod", error="invalid_token"',
    );
  });
});

describe("unknown routes", () => {
  it("answer a real request id, in the body and the header", async () => {
    const res = await fetch(`${base}/no/such/route`);
    expect(res.status).toBe(404);
    const body = await res.json();
    expect(body.requestId).toMatch(UUID);
    expect(res.headers.get("x-request-id")).toBe(body.requestId);

    const sent = await fetch(`${base}/no/such/route`, { headers: { "x-request-id": "trace-42" } });
    expect((await sent.json()).requestId).toBe("trace-42");
  });
});

describe("/docs/", () => {
  it("leads to the reference page, as /docs does", async () => {
    const res = await fetch(`${base}/docs/`);
    expect(res.status).toBe(200);
    expect(res.url).toBe(`${base}/docs`);
    expect(await res.text()).toContain('id="swagger-ui"');
  });
});
