import { webhookEndpoints } from "@minispod/db";
import {
  type AppEnv,
  AppError,
  actorOf,
  fields,
  idParam,
  isAdmin,
  jsonBody,
  keyset,
  pageQuery,
  pathParams,
  queryParams,
  requireAuth,
} from "@minispod/shared";
import { and, eq } from "drizzle-orm";
import { Hono } from "hono";
import * as v from "valibot";
import { deliveryConfig, manualSendLimit, type WebhooksDeps } from "../deps";
import { deliveryDetail, sendTestPing } from "../services/deliveries";
import {
  createEndpoint,
  deleteEndpoint,
  loadEndpoint,
  rotateSecret,
  toEndpointDto,
  updateEndpoint,
} from "../services/endpoints";
import { createSchema, updateSchema } from "../services/schemas";
import { notes } from "./openapi";

const listQuery = v.object({ ...pageQuery.entries, userId: v.optional(fields.uuid()) });

/** Customers' endpoints: CRUD, secret rotation, test ping. */
export function endpointRoutes(deps: WebhooksDeps) {
  const auth = requireAuth(deps.verifier);
  const allowPrivate = deps.env.WEBHOOK_ALLOW_PRIVATE;
  return new Hono<AppEnv>()
    .get("/", notes.list, auth, queryParams(listQuery), async (c) => {
      const claims = c.get("auth");
      const query = c.req.valid("query");
      if (query.userId && query.userId !== claims.userId && !isAdmin(claims.role)) {
        throw new AppError("FORBIDDEN", {
          detail: "Only admins may list another user's endpoints.",
        });
      }
      const p = keyset(webhookEndpoints.createdAt, webhookEndpoints.id, query);
      const rows = await deps.db
        .select()
        .from(webhookEndpoints)
        .where(and(eq(webhookEndpoints.userId, query.userId ?? claims.userId), p.where))
        .orderBy(...p.orderBy)
        .limit(p.fetch);
      return c.json(p.page(rows, toEndpointDto));
    })
    .post("/", notes.create, auth, jsonBody(createSchema(allowPrivate)), async (c) => {
      const row = await createEndpoint({
        db: deps.db,
        actor: actorOf(c),
        data: c.req.valid("json"),
        maxEndpoints: deps.env.WEBHOOK_MAX_ENDPOINTS,
        now: deps.now(),
      });
      c.header("cache-control", "no-store");
      // The only answer, besides rotation, that carries the secret.
      return c.json({ ...toEndpointDto(row), secret: row.secret }, 201);
    })
    .get("/:id", notes.get, auth, pathParams(idParam), async (c) => {
      const row = await loadEndpoint(deps.db, c.req.valid("param").id, c.get("auth"), "read");
      return c.json(toEndpointDto(row));
    })
    .patch(
      "/:id",
      notes.update,
      auth,
      pathParams(idParam),
      jsonBody(updateSchema(allowPrivate)),
      async (c) => {
        const data = c.req.valid("json");
        if (Object.values(data).every((value) => value === undefined)) {
          throw new AppError("VALIDATION_FAILED", {
            detail: "Nothing to update: send at least one of url, events, description, enabled.",
            fields: [{ field: "", message: "no updatable field given" }],
          });
        }
        const endpoint = await loadEndpoint(
          deps.db,
          c.req.valid("param").id,
          c.get("auth"),
          "write",
        );
        const row = await updateEndpoint({
          db: deps.db,
          actor: actorOf(c),
          endpoint,
          data,
          now: deps.now(),
        });
        return c.json(toEndpointDto(row));
      },
    )
    .delete("/:id", notes.delete, auth, pathParams(idParam), async (c) => {
      const endpoint = await loadEndpoint(deps.db, c.req.valid("param").id, c.get("auth"), "write");
      await deleteEndpoint({ db: deps.db, actor: actorOf(c), endpoint, now: deps.now() });
      return c.body(null, 204);
    })
    .post("/:id/rotate-secret", notes.rotateSecret, auth, pathParams(idParam), async (c) => {
      const endpoint = await loadEndpoint(deps.db, c.req.valid("param").id, c.get("auth"), "write");
      const row = await rotateSecret({
        db: deps.db,
        actor: actorOf(c),
        endpoint,
        overlapSeconds: deps.env.WEBHOOK_SECRET_ROTATION_OVERLAP,
        now: deps.now(),
      });
      c.header("cache-control", "no-store");
      return c.json({
        ...toEndpointDto(row),
        secret: row.secret,
        previousSecretExpiresAt: row.previousSecretExpiresAt?.toISOString() ?? null,
      });
    })
    .post("/:id/test", notes.test, auth, manualSendLimit(deps), pathParams(idParam), async (c) => {
      const endpoint = await loadEndpoint(deps.db, c.req.valid("param").id, c.get("auth"), "write");
      const outcome = await sendTestPing({
        db: deps.db,
        endpoint,
        config: deliveryConfig(deps),
        now: deps.now(),
      });
      if (!outcome)
        throw new AppError("NOT_FOUND", { detail: "No webhook endpoint with this id." });
      if (outcome.eventIds.length > 0) deps.events.kick(outcome.eventIds);
      return c.json(await deliveryDetail(deps.db, endpoint.id, outcome.delivery.id), 201);
    });
}
