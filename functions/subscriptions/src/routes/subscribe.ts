import type { BillingContext } from "@minispod/billing";
import { subscribe } from "@minispod/billing";
import { type AppEnv, actorOf, jsonBody, requireAuth } from "@minispod/shared";
import { Hono } from "hono";
import * as v from "valibot";
import type { SubscriptionsDeps } from "../app";
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
});

export function subscribeRoutes(deps: SubscriptionsDeps, ctx: BillingContext) {
  return new Hono<AppEnv>().post(
    "/",
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
