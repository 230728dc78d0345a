// Ladder step: the same with one middleware that only awaits next(): what
// Hono's composition costs once a route has any middleware in front of it.
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const app = new Hono();
app.use("*", async (_c, next) => {
  await next();
});
app.get("/health/*", (c) => c.json({ status: "ok" }));
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: "127.0.0.1" });
