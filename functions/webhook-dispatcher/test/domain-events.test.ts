import { randomUUID } from "node:crypto";
import { type CloudEventMessage, fullType } from "@minispod/shared";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { startTestReceiver, type TestReceiver } from "@minispod/webhooks/test-receiver";
import type { Hono } from "hono";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createApp } from "../src/app";
import { webhookDispatcherFunction } from "../src/function";
import { makeEndpoint, postEvent, verifyAsSent } from "./helpers";

let h: Harness;
let app: Hono;
let receiver: TestReceiver;

beforeAll(async () => {
  h = await createHarness();
  receiver = await startTestReceiver();
  app = createApp(
    h.context(webhookDispatcherFunction, { WEBHOOK_ALLOW_PRIVATE: "true" }),
  ) as unknown as Hono;
});
afterAll(async () => {
  await receiver.close();
  await h.close();
});

it("delivers custom domain events to the owner's endpoints that asked for them", async () => {
  const alice = await h.user();
  const endpoint = await makeEndpoint(h, alice.id, {
    url: receiver.url("/domains"),
    events: ["domain.active", "domain.failed"],
  });
  const event: CloudEventMessage = {
    id: randomUUID(),
    type: fullType("domain.active"),
    source: "provisioner",
    subject: randomUUID(),
    time: new Date().toISOString(),
    data: {
      userId: alice.id,
      domainId: randomUUID(),
      instanceId: randomUUID(),
      domain: "shop.example.com",
      state: "ACTIVE",
      reason: "serving with its certificate",
    },
  };
  const response = await postEvent(app, event);
  expect(await response.json()).toEqual({ outcome: "processed" });
  const [request] = receiver.to("/domains");
  expect(verifyAsSent(endpoint.secret, request!)).toEqual({
    type: "domain.active",
    timestamp: event.time,
    data: event.data,
  });
  const removed = { ...event, id: randomUUID(), type: fullType("domain.removed") };
  await postEvent(app, removed);
  expect(receiver.to("/domains")).toHaveLength(1);
});
