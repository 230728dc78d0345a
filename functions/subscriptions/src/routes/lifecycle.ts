import type { BillingContext } from "@minispod/billing";
import {
  cancel,
  cancellationSchema,
  paymentMethodResultSchema,
  renew,
  subscriptionDetailSchema,
  subscriptionSchema,
  undoCancel,
  updatePaymentMethod,
} from "@minispod/billing";
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
  /** True: delete the instance and its data now. Default: at the period's end. */
  immediately: v.optional(v.boolean("must be true or false")),
});
const paymentMethod = v.pipe(
  v.string("must be a string"),
  v.nonEmpty("must not be empty"),
  v.maxLength(200, "is too long"),
);
const renewBody = v.object({ paymentMethod: v.optional(paymentMethod) });
const paymentMethodBody = v.object({
  paymentMethod: v.pipe(
    paymentMethod,
    v.regex(/^[A-Za-z0-9_.:-]+$/, "must be a payment method reference"),
  ),
});

export function lifecycleRoutes(deps: SubscriptionsDeps, ctx: BillingContext) {
  return new Hono<AppEnv>()
    .use(requireAuth(deps.verifier))
    .post(
      "/:id/cancel",
      describeRoute({
        id: "subscriptions.cancel",
        summary:
          'Cancel at the period\'s end (the app runs until then); {"immediately": true} deletes it and its data now',
        response: { schema: cancellationSchema },
        errors: ["CONFLICT"],
      }),
      pathParams(idParam),
      jsonBody(cancelBody),
      async (c) => {
        const { id } = c.req.valid("param");
        const { reason, immediately } = c.req.valid("json");
        return c.json(
          await cancel({
            ctx,
            input: { subscriptionId: id, actor: actorOf(c), reason, immediately },
          }),
        );
      },
    )
    .post(
      "/:id/cancel/undo",
      describeRoute({
        id: "subscriptions.undoCancel",
        summary: "Take back a cancellation at period end before the period ends",
        response: { schema: subscriptionDetailSchema },
        errors: ["CONFLICT"],
      }),
      pathParams(idParam),
      async (c) => {
        const { id } = c.req.valid("param");
        return c.json(await undoCancel({ ctx, input: { subscriptionId: id, actor: actorOf(c) } }));
      },
    )
    .put(
      "/:id/payment-method",
      describeRoute({
        id: "subscriptions.setPaymentMethod",
        summary: "Change the payment method renewals charge; an overdue renewal is retried on it",
        response: { schema: paymentMethodResultSchema },
        errors: ["PAYMENT_DECLINED", "CONFLICT", "BAD_GATEWAY", "SERVICE_UNAVAILABLE"],
      }),
      pathParams(idParam),
      jsonBody(paymentMethodBody),
      async (c) => {
        const { id } = c.req.valid("param");
        const { paymentMethod } = c.req.valid("json");
        return c.json(
          await updatePaymentMethod({
            ctx,
            input: { subscriptionId: id, actor: actorOf(c), paymentMethod },
          }),
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
