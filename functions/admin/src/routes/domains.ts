import { domainState, instanceDomains, serviceInstances } from "@minispod/db";
import {
  type AppEnv,
  describeRoute,
  fields,
  keyset,
  listOf,
  named,
  pageQuery,
  queryParams,
  requireAuth,
  requireRole,
  type TokenVerifier,
} from "@minispod/shared";
import { and, eq } from "drizzle-orm";
import { Hono } from "hono";
import * as v from "valibot";
import type { AdminContext } from "../services/context";

const listQuery = v.object({
  ...pageQuery.entries,
  /** One account's domains. */
  userId: v.optional(fields.uuid()),
  /** One instance's domains. */
  instanceId: v.optional(fields.uuid()),
  state: v.optional(v.picklist(domainState.enumValues, "is not a domain state")),
});

const timestamp = v.pipe(v.string(), v.isoTimestamp());
const adminDomainSchema = named(
  "AdminCustomDomain",
  v.object({
    id: v.pipe(v.string(), v.uuid()),
    userId: v.pipe(v.string(), v.uuid()),
    instanceId: v.pipe(v.string(), v.uuid()),
    instanceStatus: v.string(),
    domain: v.string(),
    state: v.picklist(domainState.enumValues),
    reason: v.nullable(v.string()),
    verifiedAt: v.nullable(timestamp),
    lastCheckedAt: v.nullable(timestamp),
    createdAt: timestamp,
  }),
);

const listNote = describeRoute({
  id: "admin.domains.list",
  summary: "Custom domains of every account, newest first (filter by account, instance or state)",
  response: { schema: listOf(adminDomainSchema) },
  errors: [],
});

/** `/api/v1/admin/domains`: custom domains for support (ADMIN and SUPER_ADMIN); never the tokens. */
export function adminDomainRoutes(ctx: Pick<AdminContext, "db">, verifier: TokenVerifier) {
  return new Hono<AppEnv>()
    .use(requireAuth(verifier), requireRole("ADMIN", "SUPER_ADMIN"))
    .get("/", listNote, queryParams(listQuery), async (c) => {
      const { userId, instanceId, state, ...page } = c.req.valid("query");
      const p = keyset(instanceDomains.createdAt, instanceDomains.id, page);
      const rows = await ctx.db
        .select({ d: instanceDomains, instanceStatus: serviceInstances.status })
        .from(instanceDomains)
        .innerJoin(serviceInstances, eq(serviceInstances.id, instanceDomains.instanceId))
        .where(
          and(
            userId ? eq(instanceDomains.userId, userId) : undefined,
            instanceId ? eq(instanceDomains.instanceId, instanceId) : undefined,
            state ? eq(instanceDomains.state, state) : undefined,
            p.where,
          ),
        )
        .orderBy(...p.orderBy)
        .limit(p.fetch);
      return c.json(
        p.page(
          rows.map((r) => ({ ...r.d, instanceStatus: r.instanceStatus })),
          (r) => ({
            id: r.id,
            userId: r.userId,
            instanceId: r.instanceId,
            instanceStatus: r.instanceStatus,
            domain: r.domain,
            state: r.state,
            reason: r.reason,
            verifiedAt: r.verifiedAt?.toISOString() ?? null,
            lastCheckedAt: r.lastCheckedAt?.toISOString() ?? null,
            createdAt: r.createdAt.toISOString(),
          }),
        ),
      );
    });
}
