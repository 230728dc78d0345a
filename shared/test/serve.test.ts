import type { Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import * as v from "valibot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFunctionApp } from "../src/app";
import { createLogger } from "../src/logger";
import { createMetrics } from "../src/metrics";
import { serveApp } from "../src/serve";
import { jsonBody } from "../src/validation";

/**
 * Errors Node or the body limit produce before a handler runs, answered as
 * problem+json over a real socket to Node's own fetch (undici), which is what
 * reports a reset connection instead of the answer when a server closes mid-upload.
 */
let server: Server;
let base: string;

beforeAll(async () => {
  const app = createFunctionApp({
    name: "edge",
    logger: createLogger({ name: "edge", level: "silent" }),
    metrics: createMetrics("edge", { defaultMetrics: false }),
    bodyLimitBytes: 1024 * 1024,
  });
  app.post("/api/things", jsonBody(v.object({ name: v.string() })), (c) =>
    c.json(c.req.valid("json"), 201),
  );
  server = await serveApp(app.fetch, {
    port: 0,
    hostname: "127.0.0.1",
    logger: createLogger({ name: "edge", level: "silent" }),
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const FIVE_MIB = 5 * 1024 * 1024;

async function problem(response: Response) {
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  return response.json();
}

describe("errors before the handler, over a real socket", () => {
  it("answers 20 KiB of request headers with a problem+json 431", async () => {
    const response = await fetch(`${base}/api/things`, {
      headers: { "x-padding": "a".repeat(20 * 1024) },
    });
    expect(response.status).toBe(431);
    const body = await problem(response);
    expect(body).toMatchObject({ status: 431, code: "HEADERS_TOO_LARGE" });
    expect(body.requestId).toBe(response.headers.get("x-request-id"));
  });

  it("answers a 5 MiB body with a problem+json 413", async () => {
    const response = await fetch(`${base}/api/things`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new Uint8Array(FIVE_MIB).fill(32),
    });
    expect(response.status).toBe(413);
    expect(await problem(response)).toMatchObject({ status: 413, code: "PAYLOAD_TOO_LARGE" });
  });

  it("answers 413 to a slow chunked upload that is still sending when the answer goes out", async () => {
    // 5 MiB in 80 chunks over about 1.6 s: far longer than the adapter's own 500 ms clean-up allows.
    const chunk = new Uint8Array(64 * 1024).fill(32);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent >= FIVE_MIB) return controller.close();
        await new Promise((resolve) => setTimeout(resolve, 20));
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const response = await fetch(`${base}/api/things`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(await problem(response)).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
  });

  it("reads the rest of a refused slow upload instead of resetting it, and keeps the connection", async () => {
    // Raw socket, to see what fetch hides: the 413 is sent at once, the client
    // goes on uploading for about 1.5 s, and the connection must survive it.
    const socket = connect((server.address() as AddressInfo).port, "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", resolve));
    let received = "";
    socket.on("data", (data) => {
      received += data.toString();
    });
    let socketError: Error | undefined;
    socket.on("error", (error) => {
      socketError = error;
    });
    const size = 3 * 1024 * 1024;
    socket.write(
      `POST /api/things HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${size}\r\n\r\n`,
    );
    const chunk = Buffer.alloc(64 * 1024, 32);
    for (let sent = 0; sent < size && !socketError; sent += chunk.length) {
      await new Promise<void>((resolve, reject) =>
        socket.write(chunk, (error) => (error ? reject(error) : resolve())),
      ).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    expect(socketError).toBeUndefined();
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    // Same connection, next request: answered, so the body was read to its end, not cut off.
    received = "";
    socket.write("GET /health/liveness HTTP/1.1\r\nhost: x\r\n\r\n");
    for (let i = 0; i < 100 && !received.includes("\r\n\r\n"); i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    socket.destroy();
  });

  it("keeps serving the connection's next request after draining", async () => {
    const ok = await fetch(`${base}/api/things`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "fine" }),
    });
    expect(ok.status).toBe(201);
  });

  it("says what is missing in plain words", async () => {
    const response = await fetch(`${base}/api/things`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(response.status).toBe(400);
    const body = await problem(response);
    expect(body.errors).toEqual([{ field: "name", message: "is required" }]);
    expect(body.detail).toBe("Invalid request body: name is required.");
  });
});

describe("serveApp start-up", () => {
  it("rejects naming PORT when the port is taken, before anyone announces the server", async () => {
    const port = (server.address() as AddressInfo).port;
    const app = createFunctionApp({
      name: "second",
      logger: createLogger({ name: "second", level: "silent" }),
      metrics: createMetrics("second", { defaultMetrics: false }),
    });
    await expect(
      serveApp(app.fetch, {
        port,
        hostname: "127.0.0.1",
        logger: createLogger({ name: "second", level: "silent" }),
      }),
    ).rejects.toMatchObject({
      name: "StartupError",
      details: { variable: "PORT", tried: `127.0.0.1:${port}` },
    });
  });
});

describe("CORS, over a real socket", () => {
  let corsServer: Server;
  let url: string;
  beforeAll(async () => {
    const logger = createLogger({ name: "cors", level: "silent" });
    const app = createFunctionApp({
      name: "cors",
      logger,
      metrics: createMetrics("cors", { defaultMetrics: false }),
      corsOrigins: ["https://app.example.com"],
    });
    app.post("/api/things", jsonBody(v.object({ name: v.string() })), (c) =>
      c.json(c.req.valid("json"), 201),
    );
    corsServer = await serveApp(app.fetch, { port: 0, hostname: "127.0.0.1", logger });
    url = `http://127.0.0.1:${(corsServer.address() as AddressInfo).port}/api/things`;
  });
  afterAll(() => new Promise<void>((resolve) => corsServer.close(() => resolve())));

  it("answers a preflight from an allowed origin with 204, the allowed headers and the security headers", async () => {
    const response = await fetch(url, {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, idempotency-key",
        "x-request-id": "preflight-1",
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
      "idempotency-key",
    );
    expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
      "if-match",
    );
    expect(response.headers.get("access-control-max-age")).toBe("600");
    expect(response.headers.get("x-request-id")).toBe("preflight-1");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("names the allowed origin on the answer and exposes the request id; other origins get no grant", async () => {
    const allowed = await fetch(url, {
      method: "POST",
      headers: { origin: "https://app.example.com", "content-type": "application/json" },
      body: JSON.stringify({ name: "a" }),
    });
    expect(allowed.status).toBe(201);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    const exposed = allowed.headers.get("access-control-expose-headers")?.toLowerCase();
    for (const name of ["x-request-id", "retry-after", "location", "etag", "idempotent-replayed"]) {
      expect(exposed).toContain(name);
    }
    const other = await fetch(url, {
      method: "POST",
      headers: { origin: "https://evil.example", "content-type": "application/json" },
      body: JSON.stringify({ name: "a" }),
    });
    expect(other.status).toBe(201);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("still refuses a non-JSON body with 415 and carries the grant on the refusal", async () => {
    const response = await fetch(url, {
      method: "POST",
      headers: { origin: "https://app.example.com", "content-type": "text/plain" },
      body: "name=a",
    });
    expect(response.status).toBe(415);
    expect(await problem(response)).toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE" });
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    // Without the grant a browser could not read why it was refused; caches key it by Origin.
    expect(response.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(response.headers.get("vary")?.toLowerCase()).toContain("origin");
  });
});
