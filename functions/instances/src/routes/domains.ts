import {
  type AppEnv,
  actorOf,
  fields,
  idParam,
  jsonBody,
  pathParams,
  requireAuth,
  type TokenVerifier,
} from "@minispod/shared";
import { Hono } from "hono";
import * as v from "valibot";
import type { InstancesContext } from "../services/context";
import {
  addDomain,
  listDomains,
  removeDomain,
  showDomain,
  verifyDomain,
} from "../services/domains";
import { addDomainBody, domainNotes as notes } from "./domains-openapi";
import { idempotent } from "./idempotent";

const domainParams = v.object({ id: fields.uuid(), domainId: fields.uuid() });

/** `/api/v1/instances/:id/domains`: an instance's custom domains (owner only). */
export function domainRoutes(ctx: InstancesContext, verifier: TokenVerifier) {
  const auth = requireAuth(verifier);
  return (
    new Hono<AppEnv>()
      // Mounted after instanceRoutes, whose requireAuth already covers these paths: verify only
      // when that has not happened (this router on its own).
      .use("/:id/domains/*", (c, next) => (c.get("auth") ? next() : auth(c, next)))
      .use("/:id/domains", (c, next) => (c.get("auth") ? next() : auth(c, next)))
      .get("/:id/domains", notes.list, pathParams(idParam), async (c) => {
        const id = c.req.valid("param").id;
        return c.json(await listDomains({ ctx, input: { actor: actorOf(c), id } }));
      })
      .post("/:id/domains", notes.add, pathParams(idParam), jsonBody(addDomainBody), async (c) => {
        const id = c.req.valid("param").id;
        const { domain } = c.req.valid("json");
        const request = { id, domain };
        return idempotent(c, ctx, { scope: "instances.domains.add", request, status: 201 }, () =>
          addDomain({ ctx, input: { actor: actorOf(c), id, domain } }),
        );
      })
      .get("/:id/domains/:domainId", notes.get, pathParams(domainParams), async (c) => {
        const { id, domainId } = c.req.valid("param");
        return c.json(await showDomain({ ctx, input: { actor: actorOf(c), id, domainId } }));
      })
      .post("/:id/domains/:domainId/verify", notes.verify, pathParams(domainParams), async (c) => {
        const { id, domainId } = c.req.valid("param");
        return c.json(await verifyDomain({ ctx, input: { actor: actorOf(c), id, domainId } }));
      })
      .delete("/:id/domains/:domainId", notes.remove, pathParams(domainParams), async (c) => {
        const { id, domainId } = c.req.valid("param");
        await removeDomain({ ctx, input: { actor: actorOf(c), id, domainId } });
        return c.body(null, 204);
      })
  );
}
