import { billingPeriod } from "@minispod/db";
import { describeRoute, listOf, named } from "@minispod/shared";
import * as v from "valibot";

/**
 * The OpenAPI notes of the catalog's routes. `serviceSchema` is the wire form
 * of `ServiceDto` (checked against every answer under test).
 */
const timestamp = v.pipe(v.string(), v.isoTimestamp());
const serviceSchema = named(
  "Service",
  v.object({
    id: v.pipe(v.string(), v.uuid()),
    slug: v.string(),
    name: v.string(),
    description: v.string(),
    image: v.string(),
    imageTag: v.string(),
    port: v.pipe(v.number(), v.integer()),
    defaultEnv: v.optional(v.record(v.string(), v.string())),
    workload: v.optional(
      v.object({
        podSecurity: v.optional(v.picklist(["restricted", "baseline"])),
        runAsUser: v.optional(v.nullable(v.pipe(v.number(), v.integer()))),
        generatedSecrets: v.optional(v.array(v.string())),
        probePath: v.optional(v.string()),
        imageDigest: v.optional(v.string()),
        readOnlyRootFilesystem: v.optional(v.boolean()),
        writablePaths: v.optional(v.array(v.string())),
        ephemeralStorage: v.optional(v.string()),
        credentials: v.optional(
          v.array(
            v.object({
              secret: v.string(),
              label: v.string(),
              username: v.optional(v.string()),
              path: v.optional(v.string()),
            }),
          ),
        ),
      }),
    ),
    resources: v.object({
      cpu: v.string(),
      memory: v.string(),
      storage: v.nullable(v.string()),
      storageMountPath: v.nullable(v.string()),
    }),
    price: v.object({
      amountMinor: v.pipe(v.number(), v.integer()),
      currency: v.string(),
      period: v.picklist(billingPeriod.enumValues),
    }),
    active: v.boolean(),
    allowMultiple: v.boolean(),
    scaleToZero: v.boolean(),
    retiredAt: v.nullable(timestamp),
    createdAt: timestamp,
    updatedAt: timestamp,
  }),
);

const optionalToken =
  "Public. An admin's bearer token (optional) adds `defaultEnv` and `workload`; a token that is sent must be valid (401 otherwise).";

export const notes = {
  list: describeRoute({
    id: "services.list",
    summary: "List the catalog, newest first",
    description: `${optionalToken} \`includeRetired=true\` needs an admin token.`,
    response: { schema: listOf(serviceSchema) },
    errors: ["UNAUTHORIZED", "INVALID_TOKEN", "TOKEN_EXPIRED", "FORBIDDEN"],
  }),
  get: describeRoute({
    id: "services.get",
    summary: "Show a catalog entry by slug",
    description: optionalToken,
    response: { schema: serviceSchema },
    errors: ["UNAUTHORIZED", "INVALID_TOKEN", "TOKEN_EXPIRED"],
    etag: true,
  }),
  create: describeRoute({
    id: "services.create",
    summary: "Add a catalog entry",
    response: { status: 201, schema: serviceSchema, location: "/api/v1/services/{slug}" },
    errors: ["CONFLICT"],
  }),
  update: describeRoute({
    id: "services.update",
    summary: "Change a catalog entry (price changes apply from the next period)",
    description:
      "Send the `ETag` of your last read as `If-Match`: a change made since by someone else answers 412 instead of being overwritten.",
    response: { schema: serviceSchema },
    errors: [],
    etag: true,
    ifMatch: "optional",
  }),
  retire: describeRoute({
    id: "services.retire",
    summary: "Retire a catalog entry (no new subscriptions; existing ones continue)",
    response: { schema: serviceSchema },
    errors: [],
  }),
};
