import { toJsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { customerFacingTypes, type EventType, eventCatalogue } from "./events/catalogue";

/**
 * The OAS 3.1 `webhooks` section: what a customer's endpoint receives. One
 * entry per event type it can subscribe to (and the test ping), each a
 * Standard Webhooks POST whose body is a named component, e.g.
 * `SubscriptionActivatedEvent` `{ type, timestamp, data: SubscriptionEventData }`.
 */
type JsonSchema = Record<string, unknown>;

const pascal = (words: string) =>
  words
    .split(/[._]/)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join("");

/** `subscription.activated` -> `SubscriptionActivatedEvent`. */
export const eventComponentName = (type: string) => `${pascal(type)}Event`;

const signatureHeaders = [
  {
    name: "webhook-id",
    description: "The message id; the same on every retry, so receivers can drop duplicates.",
    schema: { type: "string" },
  },
  {
    name: "webhook-timestamp",
    description: "Unix seconds of this attempt; refuse messages far from your clock.",
    schema: { type: "string", pattern: "^[0-9]+$" },
  },
  {
    name: "webhook-signature",
    description:
      "Space-separated `v1,<base64 HMAC-SHA256>` of `<webhook-id>.<webhook-timestamp>.<body>`, one per secret in use (two while a rotated secret overlaps).",
    schema: { type: "string" },
  },
];

function dataSchema(schema: v.GenericSchema): JsonSchema {
  const { $schema: _ignored, ...rest } = toJsonSchema(schema, {
    errorMode: "ignore",
    target: "draft-2020-12",
  }) as JsonSchema;
  return rest;
}

function envelope(type: string, data: JsonSchema, description: string): JsonSchema {
  return {
    type: "object",
    description,
    required: ["type", "timestamp", "data"],
    properties: {
      type: { type: "string", const: type },
      timestamp: {
        type: "string",
        format: "date-time",
        description: "When the event happened; the same on every retry.",
      },
      data,
    },
  };
}

/** The `webhooks` of the document and the components their bodies name. */
export function webhookSection(): { webhooks: JsonSchema; schemas: Record<string, JsonSchema> } {
  const types = [...customerFacingTypes].sort() as EventType[];
  // Types sharing one data schema share its component (`SubscriptionEventData`).
  const users = new Map<object, EventType[]>();
  for (const type of types) {
    const schema = eventCatalogue[type];
    users.set(schema, [...(users.get(schema) ?? []), type]);
  }
  const schemas: Record<string, JsonSchema> = {};
  const dataName = (type: EventType) => {
    const sharing = users.get(eventCatalogue[type])!;
    return sharing.length > 1
      ? `${pascal(type.split(".")[0]!)}EventData`
      : `${pascal(type)}EventData`;
  };
  const webhooks: JsonSchema = {};
  const entry = (type: string, body: string, summary: string) => ({
    post: {
      operationId: `events.${type.replace(/[._]([a-z])/g, (_, c: string) => c.toUpperCase())}`,
      summary,
      description: `Sent to every enabled endpoint subscribed to \`${type}\` (or \`*\`). Answer 2xx within the timeout; anything else is retried on the documented schedule.`,
      tags: ["webhook events"],
      parameters: signatureHeaders.map((header) => ({ ...header, in: "header", required: true })),
      requestBody: {
        required: true,
        content: { "application/json": { schema: { $ref: `#/components/schemas/${body}` } } },
      },
      responses: {
        "200": { description: "Received (any 2xx status will do)." },
      },
    },
  });
  for (const type of types) {
    const name = dataName(type);
    schemas[name] ??= dataSchema(eventCatalogue[type]);
    schemas[eventComponentName(type)] = envelope(
      type,
      { $ref: `#/components/schemas/${name}` },
      `The \`${type}\` event.`,
    );
    webhooks[type] = entry(type, eventComponentName(type), `The \`${type}\` event`);
  }
  schemas.PingEvent = envelope(
    "ping",
    {
      type: "object",
      required: ["endpointId", "message"],
      properties: { endpointId: { type: "string", format: "uuid" }, message: { type: "string" } },
    },
    "The test message `POST /api/v1/webhooks/{id}/test` sends.",
  );
  webhooks.ping = entry("ping", "PingEvent", "The test ping");
  schemas.WebhookEvent = {
    description: "Any message a webhook endpoint receives.",
    oneOf: [...types.map((type) => eventComponentName(type)), "PingEvent"].map((name) => ({
      $ref: `#/components/schemas/${name}`,
    })),
  };
  return { webhooks, schemas };
}
