import type { BillingContext } from "@minispod/billing";
import { subscribe, subscriptionSchema } from "@minispod/billing";
import {
  type AppEnv,
  actorOf,
  describeRoute,
  fields,
  jsonBody,
  requireAuth,
} from "@minispod/shared";
import { Hono } from "hono";
import * as v from "valibot";
import type { SubscriptionsDeps } from "../deps";
import { idempotent } from "../idempotent";

export const subscribeBody = v.object({
  serviceSlug: v.pipe(
    v.string("must be a string"),
    v.trim(),
    v.nonEmpty("is required"),
    v.maxLength(100, "is too long"),
  ),
  paymentMethod: v.optional(
    v.pipe(
      v.string("must be a string"),
      v.nonEmpty("must not be empty"),
      v.maxLength(200, "is too long"),
    ),
  ),
  autoRenew: v.optional(v.boolean("must be true or false")),
  /**
   * One of the customer's READY backups of an instance of this app: the new instance is
   * provisioned with its volume created from that snapshot instead of empty.
   */
  restoreFromBackupId: v.optional(fields.uuid()),
});

export function subscribeRoutes(deps: SubscriptionsDeps, ctx: BillingContext) {
  return new Hono<AppEnv>().post(
    "/",
    describeRoute({
      id: "subscriptions.create",
      summary: "Subscribe to a catalog service (charges the first period)",
      description:
        "A declined first charge creates nothing billable and answers 402. An unknown payment outcome answers 502/503; retry with the same Idempotency-Key. With `restoreFromBackupId` (one of your READY backups of an instance of the same app; 404 for an unknown one, 409 while it is not ready, 422 for another app's) the new instance starts with that backup's data: follow it at `GET /api/v1/instances/{instanceId}/restores`.",
      response: {
        status: 201,
        schema: subscriptionSchema,
        location: "/api/v1/subscriptions/{id}",
      },
      errors: [
        "PAYMENT_DECLINED",
        "CONFLICT",
        "IDEMPOTENCY_IN_PROGRESS",
        "IDEMPOTENCY_KEY_REUSED",
        "UNPROCESSABLE",
        "NOT_FOUND",
        "BAD_GATEWAY",
        "SERVICE_UNAVAILABLE",
      ],
      idempotent: true,
    }),
    requireAuth(deps.verifier),
    jsonBody(subscribeBody),
    async (c) => {
      const body = c.req.valid("json");
      const actor = actorOf(c);
      const request = { ...body, autoRenew: body.autoRenew ?? true };
      return idempotent(c, ctx, { scope: "subscriptions.create", request }, async (claim) => {
        const subscription = await subscribe({
          ctx,
          input: {
            ...body,
            userId: c.get("auth").userId,
            actor,
            chargeKey: claim?.chargeKey,
            chargeKeyReleased: claim?.released,
          },
        });
        return { status: 201, body: subscription };
      });
    },
  );
}
