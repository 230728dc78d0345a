import type { BillingContext } from "@minispod/billing";
import { invoiceDetailSchema, invoiceSchema, listInvoices, loadInvoice } from "@minispod/billing";
import { invoiceStatus } from "@minispod/db";
import {
  type AppEnv,
  describeRoute,
  fields,
  idParam,
  listOf,
  pageQuery,
  pathParams,
  queryParams,
  requireAuth,
} from "@minispod/shared";
import { Hono } from "hono";
import * as v from "valibot";
import type { BillingDeps } from "../deps";

const listQuery = v.object({
  ...pageQuery.entries,
  userId: v.optional(fields.uuid()),
  subscriptionId: v.optional(fields.uuid()),
  status: v.optional(v.picklist(invoiceStatus.enumValues, "is not an invoice status")),
});

export function invoiceRoutes(deps: BillingDeps, ctx: BillingContext) {
  return new Hono<AppEnv>()
    .use(requireAuth(deps.verifier))
    .get(
      "/",
      describeRoute({
        id: "invoices.list",
        summary: "List invoices, newest first (admins: anyone's, with userId)",
        response: { schema: listOf(invoiceSchema) },
        errors: ["FORBIDDEN"],
      }),
      queryParams(listQuery),
      async (c) => {
        const { userId, subscriptionId, status, ...page } = c.req.valid("query");
        const auth = c.get("auth");
        const actor = { id: auth.userId, role: auth.role };
        return c.json(
          await listInvoices({
            db: ctx.db,
            input: { actor, page, userId, subscriptionId, status },
          }),
        );
      },
    )
    .get(
      "/:id",
      describeRoute({
        id: "invoices.get",
        summary: "Show an invoice with its payment attempts",
        response: { schema: invoiceDetailSchema },
        errors: [],
      }),
      pathParams(idParam),
      async (c) => {
        const auth = c.get("auth");
        const actor = { id: auth.userId, role: auth.role };
        return c.json(
          await loadInvoice({ db: ctx.db, input: { invoiceId: c.req.valid("param").id, actor } }),
        );
      },
    );
}
