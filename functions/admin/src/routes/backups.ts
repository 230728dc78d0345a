import { backupSchema, listBackupRows } from "@minispod/instances/backups";
import {
  type AppEnv,
  describeRoute,
  fields,
  listOf,
  pageQuery,
  queryParams,
  requireAuth,
  requireRole,
  type TokenVerifier,
} from "@minispod/shared";
import { Hono } from "hono";
import * as v from "valibot";
import type { AdminContext } from "../services/context";

const backupsQuery = v.object({
  ...pageQuery.entries,
  /** One customer's backups (their account page). */
  userId: v.optional(fields.uuid()),
  /** One instance's backups. */
  instanceId: v.optional(fields.uuid()),
});

const listNote = describeRoute({
  id: "admin.backups.list",
  summary:
    "Backups of every instance, newest first, or of one account (userId) or instance (instanceId), with size, state and retention",
  response: { schema: listOf(backupSchema) },
  errors: [],
});

/** `/api/v1/admin/backups`: what support sees of customers' backups (read only). ADMIN and SUPER_ADMIN. */
export function adminBackupRoutes(ctx: AdminContext, verifier: TokenVerifier) {
  return new Hono<AppEnv>()
    .use(requireAuth(verifier), requireRole("ADMIN", "SUPER_ADMIN"))
    .get("/backups", listNote, queryParams(backupsQuery), async (c) => {
      const { userId, instanceId, ...page } = c.req.valid("query");
      return c.json(await listBackupRows(ctx.db, { userId, instanceId }, page));
    });
}
