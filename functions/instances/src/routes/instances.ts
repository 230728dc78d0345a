import { instanceStatus } from "@minispod/db";
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
import type { InstancesContext } from "../services/context";
import { rotateCredential, showCredentials } from "../services/credentials";
import { instanceLogs, listInstances, showInstance } from "../services/read";
import { restartInstance } from "../services/restart";
import { notes } from "./openapi";

const listQuery = v.object({
  ...pageQuery.entries,
  userId: v.optional(fields.uuid()),
  status: v.optional(v.picklist(instanceStatus.enumValues, "is not an instance status")),
});

const wholeNumber = (min: number, max: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d+$/, "must be a whole number"),
    v.transform(Number),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );

const logsQuery = v.object({
  /** Last lines to return. */
  tail: v.optional(wholeNumber(1, 5000), "200"),
  /** Only lines of the last `since` seconds (at most 7 days). */
  since: v.optional(wholeNumber(1, 7 * 86_400)),
});

const rotateBody = v.object({
  /** The credential to regenerate: its `name` in the credentials answer. */
  name: v.pipe(
    v.string("must be a string"),
    v.regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "must be a credential name like ADMIN_TOKEN"),
  ),
});

/** `/api/v1/instances`: the customer's instances (admins: everyone's). */
export function instanceRoutes(ctx: InstancesContext, verifier: TokenVerifier) {
  return new Hono<AppEnv>()
    .use(requireAuth(verifier))
    .get("/", notes.list, queryParams(listQuery), async (c) => {
      const { userId, status, ...page } = c.req.valid("query");
      return c.json(
        await listInstances({ ctx, input: { actor: actorOf(c), page, userId, status } }),
      );
    })
    .get("/:id", notes.get, pathParams(idParam), async (c) => {
      const id = c.req.valid("param").id;
      return c.json(await showInstance({ ctx, input: { actor: actorOf(c), id } }));
    })
    .get("/:id/logs", notes.logs, pathParams(idParam), queryParams(logsQuery), async (c) => {
      const { tail, since } = c.req.valid("query");
      const id = c.req.valid("param").id;
      return c.json(await instanceLogs({ ctx, input: { actor: actorOf(c), id, tail, since } }));
    })
    .post("/:id/restart", notes.restart, pathParams(idParam), async (c) => {
      const id = c.req.valid("param").id;
      return c.json(await restartInstance({ ctx, input: { actor: actorOf(c), id } }), 202);
    })
    .get("/:id/credentials", notes.credentials, pathParams(idParam), async (c) => {
      const id = c.req.valid("param").id;
      const body = await showCredentials({ ctx, input: { actor: actorOf(c), id } });
      // Passwords: no browser or proxy may keep a copy.
      c.header("cache-control", "no-store");
      return c.json(body);
    })
    .post(
      "/:id/credentials/rotate",
      notes.rotateCredential,
      pathParams(idParam),
      jsonBody(rotateBody),
      async (c) => {
        const id = c.req.valid("param").id;
        const { name } = c.req.valid("json");
        const input = { actor: actorOf(c), id, name };
        c.header("cache-control", "no-store");
        return c.json(await rotateCredential({ ctx, input }), 202);
      },
    );
}
