import {
  type AppEnv,
  AppError,
  pageQuery,
  pathParams,
  queryParams,
  versionTag,
} from "@minispod/shared";
import { Hono } from "hono";
import * as v from "valibot";
import type { CatalogDeps } from "../deps";
import { toServiceDto } from "../dto";
import { slugParam } from "../schemas";
import { getServiceBySlug, listServices } from "../services/read";
import { notes } from "./openapi";
import { optionalAuth, viewer, viewerIsAdmin } from "./viewer";

const listQuery = v.object({
  ...pageQuery.entries,
  includeRetired: v.optional(
    v.pipe(
      v.picklist(["true", "false"], "must be true or false"),
      v.transform((s) => s === "true"),
    ),
    "false",
  ),
});

/** Public reads. Admins (by token) also get `defaultEnv` and may list retired entries. */
export function serviceRoutes(deps: CatalogDeps) {
  return new Hono<AppEnv>()
    .get("/", notes.list, optionalAuth(deps.verifier), queryParams(listQuery), async (c) => {
      const { includeRetired, ...query } = c.req.valid("query");
      const admin = viewerIsAdmin(c);
      if (includeRetired && !admin) {
        throw viewer(c)
          ? new AppError("FORBIDDEN", { detail: "Only admins may list retired services." })
          : new AppError("UNAUTHORIZED", {
              detail: "Listing retired services needs an admin token.",
            });
      }
      const page = await listServices({ db: deps.db, query, includeRetired });
      return c.json({
        items: page.items.map((row) => toServiceDto(row, admin)),
        nextCursor: page.nextCursor,
      });
    })
    .get("/:slug", notes.get, optionalAuth(deps.verifier), pathParams(slugParam), async (c) => {
      const row = await getServiceBySlug({ db: deps.db, slug: c.req.valid("param").slug });
      c.header("etag", versionTag(row));
      return c.json(toServiceDto(row, viewerIsAdmin(c)));
    });
}
