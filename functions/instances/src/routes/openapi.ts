import type { ClusterEvent, InstancePhase } from "@minispod/cluster";
import { instanceStatus } from "@minispod/db";
import { describeRoute, listOf, named } from "@minispod/shared";
import * as v from "valibot";

/**
 * The OpenAPI notes of the instances routes, with the wire form of
 * `instanceDto`, `showInstance`, `instanceLogs` and `restartInstance`
 * (checked against every answer under test).
 */
const uuid = v.pipe(v.string(), v.uuid());
const timestamp = v.pipe(v.string(), v.isoTimestamp());
const integer = v.pipe(v.number(), v.integer());

const phases = [
  "starting",
  "running",
  "failed",
  "suspended",
  "missing",
] as const satisfies readonly InstancePhase[];
const eventTypes = ["Normal", "Warning"] as const satisfies readonly ClusterEvent["type"][];

const instanceSchema = named(
  "Instance",
  v.object({
    id: uuid,
    subscriptionId: uuid,
    userId: uuid,
    service: v.object({ id: uuid, slug: v.string(), name: v.string() }),
    status: v.picklist(instanceStatus.enumValues),
    url: v.pipe(
      v.nullable(v.string()),
      v.description("Null until the instance is placed on the cluster, and once it is deleted."),
    ),
    lastError: v.nullable(v.string()),
    statusChangedAt: timestamp,
    createdAt: timestamp,
    updatedAt: timestamp,
  }),
);

const instanceDetailSchema = named(
  "InstanceDetail",
  v.object({
    ...instanceSchema.entries,
    live: v.pipe(
      v.nullable(
        v.object({
          phase: v.picklist(phases),
          reason: v.string(),
          replicas: v.object({ desired: integer, ready: integer }),
          events: v.array(
            v.object({
              at: timestamp,
              type: v.picklist(eventTypes),
              reason: v.string(),
              message: v.string(),
              object: v.string(),
            }),
          ),
        }),
      ),
      v.description(
        "What the cluster says now (events newest first); null when the instance is not in the cluster or the cluster can't be reached.",
      ),
    ),
    timeline: v.pipe(
      v.array(
        named(
          "TimelineEntry",
          v.object({
            status: v.picklist(instanceStatus.enumValues),
            message: v.nullable(v.string()),
            at: timestamp,
          }),
        ),
      ),
      v.description("Status changes, oldest first."),
    ),
  }),
);

const logsSchema = named(
  "InstanceLogs",
  v.object({
    pod: v.pipe(
      v.nullable(v.string()),
      v.description("The pod the lines came from; null when no pod exists."),
    ),
    lines: v.array(v.string()),
  }),
);

const restartSchema = named(
  "InstanceRestart",
  v.object({
    id: uuid,
    status: v.picklist(instanceStatus.enumValues),
    restartedAt: timestamp,
  }),
);

const credentialsSchema = named(
  "InstanceCredentials",
  v.object({
    instanceId: uuid,
    credentials: v.array(
      v.object({
        name: v.string(),
        label: v.string(),
        username: v.nullable(v.string()),
        value: v.pipe(
          v.nullable(v.string()),
          v.description("Null until the instance is first provisioned."),
        ),
        url: v.pipe(v.nullable(v.string()), v.description("Where to use it; null until placed.")),
        version: v.nullable(integer),
        updatedAt: v.nullable(timestamp),
      }),
    ),
  }),
);

const rotationSchema = named(
  "InstanceCredentialRotation",
  v.object({ instanceId: uuid, name: v.string(), version: integer, rotatedAt: timestamp }),
);

export const notes = {
  list: describeRoute({
    id: "instances.list",
    summary: "List instances, newest first (admins: everyone's, or one customer's with userId)",
    response: { schema: listOf(instanceSchema) },
    errors: ["FORBIDDEN"],
  }),
  get: describeRoute({
    id: "instances.get",
    summary: "Show an instance with its live state and status timeline",
    response: { schema: instanceDetailSchema },
    errors: [],
  }),
  logs: describeRoute({
    id: "instances.logs",
    summary: "Recent log lines of the instance's pod",
    response: { schema: logsSchema },
    errors: ["SERVICE_UNAVAILABLE"],
  }),
  restart: describeRoute({
    id: "instances.restart",
    summary: "Restart the instance: new pods, same configuration",
    description:
      "One restart of an instance at a time, and at most INSTANCE_RESTART_LIMIT (6) per INSTANCE_RESTART_WINDOW (1 h), whoever asks: past that 429 with Retry-After.",
    response: { status: 202, schema: restartSchema },
    errors: ["CONFLICT", "SERVICE_UNAVAILABLE"],
  }),
  credentials: describeRoute({
    id: "instances.credentials",
    summary:
      "The app's generated credentials the catalog hands to the customer (owner only, audited, not cached)",
    response: { schema: credentialsSchema },
    errors: ["FORBIDDEN", "CONFLICT"],
  }),
  rotateCredential: describeRoute({
    id: "instances.rotateCredential",
    summary:
      "Regenerate one credential; the instance restarts with it shortly (owner only, audited)",
    response: { status: 202, schema: rotationSchema },
    errors: ["FORBIDDEN", "CONFLICT", "UNPROCESSABLE"],
  }),
};
