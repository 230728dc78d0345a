import {
  type AppEnv,
  actorOf,
  discardDeadLetter,
  type FunctionContext,
  fields,
  idParam,
  jsonBody,
  listDeadLetters,
  pageQuery,
  pathParams,
  queryParams,
  replayDeadLetters,
  requireAuth,
  requireRole,
  showDeadLetter,
} from "@minispod/shared";
import { Hono } from "hono";
import * as v from "valibot";
import { notes } from "./dead-letters-openapi";

const timestamp = v.pipe(
  v.string(),
  v.isoTimestamp("must be an ISO 8601 timestamp"),
  v.transform((s) => new Date(s)),
);

const listQuery = v.object({
  ...pageQuery.entries,
  /** Full (dev.minispod.user.registered) or short (user.registered) CloudEvent type. */
  type: v.optional(v.pipe(v.string(), v.maxLength(200, "is too long"))),
  source: v.optional(v.pipe(v.string(), v.maxLength(200, "is too long"))),
  replayed: v.optional(v.picklist(["true", "false"], "must be true or false")),
  /** Received at or after. */
  from: v.optional(timestamp),
  /** Received before. */
  to: v.optional(timestamp),
});

const replayBody = v.object({
  ids: v.pipe(
    v.array(fields.uuid(), "must be a list of dead-letter ids"),
    v.minLength(1, "must name at least one dead letter"),
    v.maxLength(100, "must name at most 100 dead letters"),
  ),
});

/**
 * `/api/v1/admin/dead-letters`: events the broker gave up on (ADMIN and
 * SUPER_ADMIN). Replays go out right after their commit; outbox-relay's sweep
 * sends whatever that misses.
 */
export function deadLetterRoutes(
  deps: FunctionContext,
  options: {
    /** Seconds consumers remember handled events (PROCESSED_EVENTS_RETENTION). */
    rememberedFor: number;
  },
) {
  const { db } = deps;
  const rememberedSince = () => new Date(deps.now().getTime() - options.rememberedFor * 1000);
  const replay = async (c: Parameters<typeof actorOf>[0], ids: string[]) => {
    const result = await replayDeadLetters(db, {
      ids,
      actor: actorOf(c),
      now: deps.now(),
      rememberedSince: rememberedSince(),
    });
    deps.events.kick(result.eventIds);
    return { items: result.items };
  };
  return new Hono<AppEnv>()
    .use(requireAuth(deps.verifier), requireRole("ADMIN", "SUPER_ADMIN"))
    .get("/", notes.list, queryParams(listQuery), async (c) => {
      const { type, source, replayed, from, to, ...page } = c.req.valid("query");
      return c.json(
        await listDeadLetters(db, {
          page,
          type,
          source,
          replayed: replayed === undefined ? undefined : replayed === "true",
          from,
          to,
        }),
      );
    })
    .post("/replay", notes.replayMany, jsonBody(replayBody), async (c) =>
      c.json(await replay(c, c.req.valid("json").ids)),
    )
    .get("/:id", notes.get, pathParams(idParam), async (c) =>
      c.json(
        await showDeadLetter(db, c.req.valid("param").id, { rememberedSince: rememberedSince() }),
      ),
    )
    .post("/:id/replay", notes.replay, pathParams(idParam), async (c) =>
      c.json(await replay(c, [c.req.valid("param").id])),
    )
    .delete("/:id", notes.discard, pathParams(idParam), async (c) => {
      await discardDeadLetter(db, {
        id: c.req.valid("param").id,
        actor: actorOf(c),
        now: deps.now(),
      });
      return c.body(null, 204);
    });
}
