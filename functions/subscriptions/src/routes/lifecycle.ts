import type { BillingContext } from "@minispod/billing";
import { cancel, renew, subscriptionSchema } from "@minispod/billing";
import {
  type AppEnv,
  actorOf,
  describeRoute,
  idParam,
  jsonBody,
  pathParams,
  requireAuth,
} from "@minispod/shared";
import { Hono } from "hono";
import * as v from "valibot";
import type { SubscriptionsDeps } from "../deps";
import { idempotent } from "../idempotent";

// Both bodies are optional: without a JSON content type the validators see `{}`.
const cancelBody = v.object({
  reason: v.optional(
    v.pipe(v.string("must be a string"), v.trim(), v.maxLength(500, "is too long")),
  ),
});
const renewBody = v.object({
  paymentMethod: v.optional(
    v.pipe(
      v.string("must be a string"),
      v.nonEmpty("must not be empty"),
      v.maxLength(200, "is too long"),
    ),
  ),
});

export function lifecycleRoutes(deps: SubscriptionsDeps, ctx: BillingContext) {
  return new Hono<AppEnv>()
    .use(requireAuth(deps.verifier))
    .post(
      "/:id/cancel",
      describeRoute({
        id: "subscriptions.cancel",
        summary: "Cancel a subscription now (its instance is deleted)",
        response: { schema: subscriptionSchema },
        errors: ["CONFLICT"],
      }),
      pathParams(idParam),
      jsonBody(cancelBody),
      async (c) => {
        const { id } = c.req.valid("param");
        const { reason } = c.req.valid("json");
        return c.json(
          await cancel({ ctx, input: { subscriptionId: id, actor: actorOf(c), reason } }),
        );
      },
    )
    .post(
      "/:id/renew",
      describeRoute({
        id: "subscriptions.renew",
        summary: "Renew a subscription for one more period (charges it)",
        response: { schema: subscriptionSchema },
        errors: [
          "PAYMENT_DECLINED",
          "CONFLICT",
          "IDEMPOTENCY_IN_PROGRESS",
          "IDEMPOTENCY_KEY_REUSED",
          "BAD_GATEWAY",
          "SERVICE_UNAVAILABLE",
        ],
        idempotent: true,
      }),
      pathParams(idParam),
      jsonBody(renewBody),
      async (c) => {
        const { id } = c.req.valid("param");
        const body = c.req.valid("json");
        // A double-clicked renew must not buy two periods: the key makes it one.
        return idempotent(
          c,
          ctx,
          // UUIDs compare case-insensitively in the database, so the scope must too.
          { scope: `subscriptions.renew:${id.toLowerCase()}`, request: body },
          async (claim) => ({
            status: 200,
            body: await renew({
              ctx,
              input: {
                subscriptionId: id,
                actor: actorOf(c),
                ...body,
                chargeKey: claim?.chargeKey,
                chargeKeyReleased: claim?.released,
              },
            }),
          }),
        );
      },
    );
}
