import type { AppEnv } from "@minispod/shared";
import {
  createHarness,
  type Harness,
  type RouteUnderTest,
  runRouteSecurityTests,
} from "@minispod/shared/testing";
import type { Hono } from "hono";
import { afterAll, beforeAll } from "vitest";
import { webhooksFunction } from "../src/function";
import { createEndpoint } from "./helpers";

let h: Harness;
let app: Hono<AppEnv>;
let endpointId = "";
const deliveryId = "00000000-0000-4000-8000-000000000000";

beforeAll(async () => {
  h = await createHarness();
  app = await h.app(webhooksFunction);
  const owner = await h.user();
  endpointId = (
    await createEndpoint(app, owner, { url: "https://hooks.example.com/x", events: ["*"] })
  ).id;
});
afterAll(() => h.close());

const setup = () => ({ app, harness: h });
const endpoint =
  (suffix = "") =>
  () =>
    `/api/v1/webhooks/${endpointId}${suffix}`;
const routes: RouteUnderTest[] = [
  { method: "GET", path: "/api/v1/webhooks" },
  {
    method: "POST",
    path: "/api/v1/webhooks",
    body: { url: "https://hooks.example.com/x", events: ["*"] },
  },
  { method: "GET", path: endpoint() },
  { method: "PATCH", path: endpoint(), body: { description: "x" } },
  { method: "DELETE", path: endpoint() },
  { method: "POST", path: endpoint("/rotate-secret") },
  { method: "POST", path: endpoint("/test") },
  { method: "GET", path: endpoint("/deliveries") },
  { method: "GET", path: endpoint(`/deliveries/${deliveryId}`) },
  { method: "POST", path: endpoint(`/deliveries/${deliveryId}/redeliver`) },
];
for (const route of routes) runRouteSecurityTests(setup, route);
