import {
  type BillingContext,
  canReach,
  listSubscriptions,
  loadSubscriptionDetail,
  setAutoRenew,
  subscriptionDetailSchema,
  subscriptionNotFound,
  subscriptionSchema,
} from "@minispod/billing";
import { subscriptionStatus } from "@minispod/db";
import {
  type AppEnv,
  actorOf,
  describeRoute,
  fields,
  idParam,
  jsonBody,
  listOf,
  pageQuery,
  pathParams,
  queryParams,
  requireAuth,
} from "@minispod/shared";
import { Hono } from "hono";
import * as v from "valibot";
import type { SubscriptionsDeps } from "../deps";

const listQuery = v.object({
  ...pageQuery.entries,
  userId: v.optional(fields.uuid()),
  status: v.optional(v.picklist(subscriptionStatus.enumValues, "is not a subscription status")),
});

const patchBody = v.object({ autoRenew: v.boolean("must be true or false") });

export function subscriptionRoutes(deps: SubscriptionsDeps, ctx: BillingContext) {
  return new Hono<AppEnv>()
    .use(requireAuth(deps.verifier))
    .get(
      "/",
      describeRoute({
        id: "subscriptions.list",
        summary: "List subscriptions, newest first (admins: anyone's, with userId)",
        response: { schema: listOf(subscriptionSchema) },
        errors: ["FORBIDDEN"],
      }),
      queryParams(listQuery),
      async (c) => {
        const { userId, status, ...page } = c.req.valid("query");
        return c.json(
          await listSubscriptions({ ctx, input: { actor: actorOf(c), page, userId, status } }),
        );
      },
    )
    .get(
      "/:id",
      describeRoute({
        id: "subscriptions.get",
        summary: "Show a subscription with its invoices",
        response: { schema: subscriptionDetailSchema },
        errors: [],
      }),
      pathParams(idParam),
      async (c) => {
        const detail = await loadSubscriptionDetail(ctx.db, c.req.valid("param").id);
        if (!detail || !canReach(actorOf(c), detail.userId)) throw subscriptionNotFound();
        return c.json(detail);
      },
    )
    .patch(
      "/:id",
      describeRoute({
        id: "subscriptions.update",
        summary: "Turn auto-renew on or off",
        response: { schema: subscriptionSchema },
        errors: ["CONFLICT"],
      }),
      pathParams(idParam),
      jsonBody(patchBody),
      async (c) => {
        const { id } = c.req.valid("param");
        const { autoRenew } = c.req.valid("json");
        return c.json(
          await setAutoRenew({ ctx, input: { subscriptionId: id, autoRenew, actor: actorOf(c) } }),
        );
      },
    );
}
