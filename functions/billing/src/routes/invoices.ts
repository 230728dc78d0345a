import type { BillingContext } from "@minispod/billing";
import { listInvoices, loadInvoice } from "@minispod/billing";
import { invoiceStatus } from "@minispod/db";
import {
  type AppEnv,
  fields,
  idParam,
  pageQuery,
  pathParams,
  queryParams,
  requireAuth,
} from "@minispod/shared";
import { Hono } from "hono";
import * as v from "valibot";
import type { BillingDeps } from "../app";

const listQuery = v.object({
  ...pageQuery.entries,
  userId: v.optional(fields.uuid()),
  subscriptionId: v.optional(fields.uuid()),
  status: v.optional(v.picklist(invoiceStatus.enumValues, "is not an invoice status")),
});

export function invoiceRoutes(deps: BillingDeps, ctx: BillingContext) {
  return new Hono<AppEnv>()
    .use(requireAuth(deps.verifier))
    .get("/", queryParams(listQuery), async (c) => {
      const { userId, subscriptionId, status, ...page } = c.req.valid("query");
      const auth = c.get("auth");
      const actor = { id: auth.userId, role: auth.role };
      return c.json(
        await listInvoices({ db: ctx.db, input: { actor, page, userId, subscriptionId, status } }),
      );
    })
    .get("/:id", pathParams(idParam), async (c) => {
      const auth = c.get("auth");
      const actor = { id: auth.userId, role: auth.role };
      return c.json(
        await loadInvoice({ db: ctx.db, input: { invoiceId: c.req.valid("param").id, actor } }),
      );
    });
}
