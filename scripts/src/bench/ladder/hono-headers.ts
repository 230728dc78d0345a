// Ladder step: plus the response head of a function (security headers and a
// fresh x-request-id), written the way serveApp writes them (FunctionResponse).
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { FunctionResponse } from "../../../../shared/src/security-headers";

const app = new Hono<{ Bindings: { outgoing: FunctionResponse } }>();
app.use("*", async (c, next) => {
  c.env.outgoing.requestId = randomUUID();
  await next();
});
app.get("/health/*", (c) => c.json({ status: "ok" }));
serve({
  fetch: app.fetch,
  port: Number(process.env.PORT),
  hostname: "127.0.0.1",
  serverOptions: { ServerResponse: FunctionResponse as typeof ServerResponse },
});
