import {
  type AppEnv,
  AppError,
  fields,
  pageQuery,
  pathParams,
  queryParams,
  requireAuth,
} from "@minispod/shared";
import { Hono } from "hono";
import * as v from "valibot";
import { deliveryConfig, manualSendLimit, type WebhooksDeps } from "../deps";
import { deliveryDetail, listDeliveries, redeliver } from "../services/deliveries";
import { loadEndpoint } from "../services/endpoints";
import { notes } from "./openapi";

const endpointParam = v.object({ id: fields.uuid() });
const deliveryParam = v.object({ id: fields.uuid(), deliveryId: fields.uuid() });

/** An endpoint's delivery log and manual redelivery. */
export function deliveryRoutes(deps: WebhooksDeps) {
  const auth = requireAuth(deps.verifier);
  return new Hono<AppEnv>()
    .get(
      "/:id/deliveries",
      notes.deliveries,
      auth,
      pathParams(endpointParam),
      queryParams(pageQuery),
      async (c) => {
        const endpoint = await loadEndpoint(
          deps.db,
          c.req.valid("param").id,
          c.get("auth"),
          "read",
        );
        return c.json(await listDeliveries(deps.db, endpoint.id, c.req.valid("query")));
      },
    )
    .get(
      "/:id/deliveries/:deliveryId",
      notes.delivery,
      auth,
      pathParams(deliveryParam),
      async (c) => {
        const { id, deliveryId } = c.req.valid("param");
        const endpoint = await loadEndpoint(deps.db, id, c.get("auth"), "read");
        return c.json(await deliveryDetail(deps.db, endpoint.id, deliveryId));
      },
    )
    .post(
      "/:id/deliveries/:deliveryId/redeliver",
      notes.redeliver,
      auth,
      manualSendLimit(deps),
      pathParams(deliveryParam),
      async (c) => {
        const { id, deliveryId } = c.req.valid("param");
        const endpoint = await loadEndpoint(deps.db, id, c.get("auth"), "write");
        const outcome = await redeliver({
          db: deps.db,
          endpointId: endpoint.id,
          deliveryId,
          config: deliveryConfig(deps),
          now: deps.now(),
        });
        if (!outcome)
          throw new AppError("NOT_FOUND", {
            detail: "No delivery with this id for this endpoint.",
          });
        if (outcome.eventIds.length > 0) deps.events.kick(outcome.eventIds);
        return c.json(await deliveryDetail(deps.db, endpoint.id, deliveryId));
      },
    );
}
