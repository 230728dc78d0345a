import { listSubscriptions } from "@minispod/billing";
import {
  type AppEnv,
  actorOf,
  idParam,
  ifMatchOf,
  jsonBody,
  pathParams,
  queryParams,
  requireAuth,
  requireRole,
  type TokenVerifier,
  versionTag,
} from "@minispod/shared";
import { Hono } from "hono";
import { changeRole, disableUser, enableUser } from "../services/accounts";
import { listAudit } from "../services/audit";
import type { AdminContext } from "../services/context";
import { loadStats } from "../services/stats";
import { listUsers, showUser } from "../services/users";
import { notes } from "./openapi";
import {
  auditQuery,
  disableBody,
  orderedRange,
  ownAuditQuery,
  roleBody,
  subscriptionsQuery,
  usersQuery,
} from "./query-schemas";

/** `/api/v1/admin`: users, roles, disabling, all subscriptions, stats, the audit log. ADMIN and SUPER_ADMIN. */
export function adminRoutes(ctx: AdminContext, verifier: TokenVerifier) {
  return new Hono<AppEnv>()
    .use(requireAuth(verifier), requireRole("ADMIN", "SUPER_ADMIN"))
    .get("/users", notes.listUsers, queryParams(usersQuery), async (c) => {
      const { q, role, disabled, ...page } = c.req.valid("query");
      return c.json(await listUsers(ctx.db, { page, q, role, disabled }));
    })
    .get("/users/:id", notes.getUser, pathParams(idParam), async (c) => {
      const user = await showUser(ctx.db, actorOf(c), c.req.valid("param").id);
      c.header("etag", versionTag(user));
      return c.json(user);
    })
    .patch(
      "/users/:id/role",
      notes.setRole,
      requireRole("SUPER_ADMIN"),
      pathParams(idParam),
      jsonBody(roleBody),
      async (c) => {
        const input = {
          actor: actorOf(c),
          userId: c.req.valid("param").id,
          ifMatch: ifMatchOf(c),
          ...c.req.valid("json"),
        };
        const change = await changeRole(ctx, input);
        c.header("etag", versionTag(change.user));
        return c.json(change);
      },
    )
    .post(
      "/users/:id/disable",
      notes.disable,
      pathParams(idParam),
      jsonBody(disableBody),
      async (c) => {
        const input = {
          actor: actorOf(c),
          userId: c.req.valid("param").id,
          ...c.req.valid("json"),
        };
        return c.json(await disableUser(ctx, input));
      },
    )
    .post("/users/:id/enable", notes.enable, pathParams(idParam), async (c) => {
      return c.json(await enableUser(ctx, { actor: actorOf(c), userId: c.req.valid("param").id }));
    })
    .get("/subscriptions", notes.listSubscriptions, queryParams(subscriptionsQuery), async (c) => {
      const { status, serviceId, userId, periodEndFrom, periodEndTo, ...page } =
        c.req.valid("query");
      orderedRange(periodEndFrom, periodEndTo, ["periodEndFrom", "periodEndTo"]);
      const input = {
        actor: actorOf(c),
        page,
        status,
        serviceId,
        userId,
        periodEndFrom,
        periodEndTo,
      };
      return c.json(await listSubscriptions({ ctx, input }));
    })
    .get("/stats", notes.stats, async (c) => c.json(await loadStats(ctx.db, ctx.now())))
    .get("/audit", notes.listAudit, queryParams(auditQuery), async (c) => {
      const { limit, cursor, ...filters } = c.req.valid("query");
      orderedRange(filters.from, filters.to, ["from", "to"]);
      return c.json(await listAudit(ctx.db, actorOf(c), filters, { limit, cursor }));
    });
}

/**
 * `/api/v1/audit`: the caller's own audit entries (any signed-in role), with
 * other actors shown to a customer by role only.
 */
export function ownAuditRoutes(ctx: AdminContext, verifier: TokenVerifier) {
  return new Hono<AppEnv>()
    .use(requireAuth(verifier))
    .get("/", notes.ownAudit, queryParams(ownAuditQuery), async (c) => {
      const { limit, cursor, ...filters } = c.req.valid("query");
      orderedRange(filters.from, filters.to, ["from", "to"]);
      const viewer = actorOf(c);
      const own = { ...filters, userId: viewer.id };
      return c.json(await listAudit(ctx.db, viewer, own, { limit, cursor }));
    });
}
