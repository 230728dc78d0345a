// Ladder step: Hono on @hono/node-server, the route alone (Hono calls a lone
// handler directly, without its middleware composition).
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const app = new Hono();
app.get("/health/*", (c) => c.json({ status: "ok" }));
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: "127.0.0.1" });
