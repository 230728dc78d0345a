import { webhookDeliveryStatus } from "@minispod/db";
import { describeRoute, documentAs, listOf, named } from "@minispod/shared";
import * as v from "valibot";

/**
 * The OpenAPI notes of the webhooks routes, with the wire form of
 * `toEndpointDto`, `toDeliveryDto` and `deliveryDetail` (checked against every
 * answer under test).
 */
const uuid = v.pipe(v.string(), v.uuid());
const timestamp = v.pipe(v.string(), v.isoTimestamp());

const endpointSchema = named(
  "Webhook",
  v.object({
    id: uuid,
    userId: uuid,
    url: v.string(),
    events: v.array(v.string()),
    description: v.nullable(v.string()),
    enabled: v.boolean(),
    disabledReason: v.nullable(v.string()),
    disabledAt: v.nullable(timestamp),
    failingSince: v.nullable(timestamp),
    createdAt: timestamp,
    updatedAt: timestamp,
  }),
);
const withSecret = named(
  "WebhookWithSecret",
  v.object({
    ...endpointSchema.entries,
    secret: v.pipe(v.string(), v.description("Shown only in this answer; keep it.")),
  }),
);

const deliverySchema = named(
  "Delivery",
  v.object({
    id: uuid,
    endpointId: uuid,
    messageId: v.string(),
    eventId: v.nullable(v.string()),
    eventType: v.string(),
    status: v.picklist(webhookDeliveryStatus.enumValues),
    attemptCount: v.pipe(v.number(), v.integer()),
    lastStatusCode: v.nullable(v.pipe(v.number(), v.integer())),
    lastError: v.nullable(v.string()),
    lastAttemptAt: v.nullable(timestamp),
    nextAttemptAt: v.nullable(timestamp),
    createdAt: timestamp,
  }),
);
const deliveryDetailSchema = named(
  "DeliveryDetail",
  v.object({
    ...deliverySchema.entries,
    // The message as sent: one of the documented webhook events.
    payload: documentAs(v.unknown(), { $ref: "#/components/schemas/WebhookEvent" }),
    attempts: v.array(
      v.object({
        id: uuid,
        attemptNumber: v.pipe(v.number(), v.integer()),
        statusCode: v.nullable(v.pipe(v.number(), v.integer())),
        durationMs: v.nullable(v.pipe(v.number(), v.integer())),
        error: v.nullable(v.string()),
        responseBody: v.nullable(v.string()),
        createdAt: timestamp,
      }),
    ),
  }),
);

export const notes = {
  list: describeRoute({
    id: "webhooks.list",
    summary: "List webhook endpoints, newest first (admins: anyone's, with userId)",
    response: { schema: listOf(endpointSchema) },
    errors: ["FORBIDDEN"],
  }),
  create: describeRoute({
    id: "webhooks.create",
    summary: "Add a webhook endpoint (answers its signing secret, once)",
    response: { status: 201, schema: withSecret, location: "/api/v1/webhooks/{id}" },
    errors: ["CONFLICT"],
  }),
  get: describeRoute({
    id: "webhooks.get",
    summary: "Show a webhook endpoint",
    response: { schema: endpointSchema },
    errors: [],
  }),
  update: describeRoute({
    id: "webhooks.update",
    summary: "Change a webhook endpoint (url, events, description, enabled)",
    response: { schema: endpointSchema },
    errors: [],
  }),
  delete: describeRoute({
    id: "webhooks.delete",
    summary: "Delete a webhook endpoint",
    response: { status: 204 },
    errors: [],
  }),
  rotateSecret: describeRoute({
    id: "webhooks.rotateSecret",
    summary: "Rotate the signing secret (the old one keeps signing for an overlap)",
    response: {
      schema: v.object({ ...withSecret.entries, previousSecretExpiresAt: v.nullable(timestamp) }),
    },
    errors: [],
  }),
  test: describeRoute({
    id: "webhooks.test",
    summary: "Send a signed ping to the endpoint now",
    response: {
      status: 201,
      schema: deliveryDetailSchema,
      location: "/api/v1/webhooks/{endpointId}/deliveries/{id}",
    },
    errors: [],
  }),
  deliveries: describeRoute({
    id: "webhooks.listDeliveries",
    summary: "An endpoint's delivery log, newest first",
    response: { schema: listOf(deliverySchema) },
    errors: [],
  }),
  delivery: describeRoute({
    id: "webhooks.getDelivery",
    summary: "One delivery with its payload and attempts",
    response: { schema: deliveryDetailSchema },
    errors: [],
  }),
  redeliver: describeRoute({
    id: "webhooks.redeliver",
    summary: "Send a delivery again now",
    response: { schema: deliveryDetailSchema },
    errors: [],
  }),
};
