import {
  type AppEnv,
  actorOf,
  ifMatchOf,
  jsonBody,
  pathParams,
  requireAuth,
  requireRole,
  versionTag,
} from "@minispod/shared";
import { Hono } from "hono";
import type { CatalogDeps } from "../deps";
import { toServiceDto } from "../dto";
import { createServiceSchema, slugParam, updateServiceSchema } from "../schemas";
import { updateService } from "../services/update";
import { createService, retireService } from "../services/write";
import { notes } from "./openapi";

/**
 * Admin writes. Auth runs per route, not as `use("*")`: these share their
 * prefix with the public reads, which must stay open.
 */
export function adminServiceRoutes(deps: CatalogDeps) {
  const auth = requireAuth(deps.verifier);
  const admin = requireRole("ADMIN", "SUPER_ADMIN");
  return new Hono<AppEnv>()
    .post("/", notes.create, auth, admin, jsonBody(createServiceSchema), async (c) => {
      const row = await createService({
        db: deps.db,
        input: c.req.valid("json"),
        actor: actorOf(c),
      });
      c.header("location", `/api/v1/services/${row.slug}`);
      return c.json(toServiceDto(row, true), 201);
    })
    .patch(
      "/:slug",
      notes.update,
      auth,
      admin,
      pathParams(slugParam),
      jsonBody(updateServiceSchema),
      async (c) => {
        const row = await updateService({
          db: deps.db,
          slug: c.req.valid("param").slug,
          input: c.req.valid("json"),
          actor: actorOf(c),
          now: deps.now(),
          ifMatch: ifMatchOf(c),
        });
        c.header("etag", versionTag(row));
        return c.json(toServiceDto(row, true));
      },
    )
    .post("/:slug/retire", notes.retire, auth, admin, pathParams(slugParam), async (c) => {
      const row = await retireService({
        db: deps.db,
        slug: c.req.valid("param").slug,
        actor: actorOf(c),
        now: deps.now(),
      });
      return c.json(toServiceDto(row, true));
    });
}
