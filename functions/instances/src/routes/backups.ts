import {
  type AppEnv,
  actorOf,
  fields,
  idParam,
  jsonBody,
  pageQuery,
  pathParams,
  queryParams,
  requireAuth,
  type TokenVerifier,
} from "@minispod/shared";
import { Hono } from "hono";
import * as v from "valibot";
import {
  deleteBackup,
  listBackups,
  listRestores,
  requestBackup,
  restoreBackup,
  showBackup,
  showRestore,
} from "../services/backups";
import type { InstancesContext } from "../services/context";
import { backupNotes as notes } from "./backups-openapi";
import { idempotent } from "./idempotent";

const backupParams = v.object({ ...idParam.entries, backupId: fields.uuid() });
const restoreParams = v.object({ ...idParam.entries, restoreId: fields.uuid() });

const restoreBody = v.object({
  /** Another instance of the same app (a new subscription's); absent: this instance. */
  targetInstanceId: v.optional(fields.uuid()),
});

/** `/api/v1/instances/:id/backups`: an instance's backups and their restores. */
export function backupRoutes(ctx: InstancesContext, verifier: TokenVerifier) {
  return new Hono<AppEnv>()
    .use(requireAuth(verifier))
    .get("/:id/backups", notes.list, pathParams(idParam), queryParams(pageQuery), async (c) => {
      const id = c.req.valid("param").id;
      const page = c.req.valid("query");
      return c.json(await listBackups({ ctx, input: { actor: actorOf(c), id, page } }));
    })
    .post("/:id/backups", notes.create, pathParams(idParam), async (c) => {
      const id = c.req.valid("param").id;
      const input = { actor: actorOf(c), id };
      return idempotent(
        c,
        ctx,
        { scope: "instances.backups.create", request: { id }, status: 202 },
        () => requestBackup({ ctx, input }),
      );
    })
    .get("/:id/backups/:backupId", notes.get, pathParams(backupParams), async (c) => {
      const { id, backupId } = c.req.valid("param");
      return c.json(await showBackup({ ctx, input: { actor: actorOf(c), id, backupId } }));
    })
    .delete("/:id/backups/:backupId", notes.delete, pathParams(backupParams), async (c) => {
      const { id, backupId } = c.req.valid("param");
      return c.json(await deleteBackup({ ctx, input: { actor: actorOf(c), id, backupId } }), 202);
    })
    .post(
      "/:id/backups/:backupId/restore",
      notes.restore,
      pathParams(backupParams),
      jsonBody(restoreBody),
      async (c) => {
        const { id, backupId } = c.req.valid("param");
        const { targetInstanceId } = c.req.valid("json");
        const input = { actor: actorOf(c), id, backupId, targetInstanceId };
        return idempotent(
          c,
          ctx,
          {
            scope: "instances.backups.restore",
            request: { id, backupId, targetInstanceId },
            status: 202,
          },
          () => restoreBackup({ ctx, input }),
        );
      },
    )
    .get(
      "/:id/restores",
      notes.restores,
      pathParams(idParam),
      queryParams(pageQuery),
      async (c) => {
        const id = c.req.valid("param").id;
        const page = c.req.valid("query");
        return c.json(await listRestores({ ctx, input: { actor: actorOf(c), id, page } }));
      },
    )
    .get("/:id/restores/:restoreId", notes.restoreGet, pathParams(restoreParams), async (c) => {
      const { id, restoreId } = c.req.valid("param");
      return c.json(await showRestore({ ctx, input: { actor: actorOf(c), id, restoreId } }));
    });
}
