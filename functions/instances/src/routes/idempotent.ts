import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  releaseIdempotencyKey,
} from "@minispod/billing";
import { type AppEnv, AppError, problemOf } from "@minispod/shared";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { InstancesContext } from "../services/context";

const KEY = /^[\x21-\x7e]{1,255}$/;
/** A request still unanswered after this long is taken as dead; its key can be claimed again. */
const STALE_AFTER_MS = 60_000;

/**
 * Runs `work` under the request's `Idempotency-Key` (when sent), as
 * `POST /subscriptions` does: the first answer, success or 4xx problem, is
 * stored and replayed for the same key and body; another body under the key
 * is 422; a 5xx frees the key.
 */
export async function idempotent(
  c: Context<AppEnv>,
  ctx: Pick<InstancesContext, "db" | "now" | "logger">,
  options: { scope: string; request: unknown; status: ContentfulStatusCode },
  work: () => Promise<unknown>,
): Promise<Response> {
  const key = c.req.header("idempotency-key");
  if (key === undefined) return c.json(await work(), options.status);
  if (!KEY.test(key)) {
    throw new AppError("VALIDATION_FAILED", {
      detail: "The Idempotency-Key header must be 1 to 255 visible ASCII characters.",
      fields: [{ field: "Idempotency-Key", message: "is invalid" }],
    });
  }
  const claim = await claimIdempotencyKey(ctx.db, {
    userId: c.get("auth").userId,
    scope: options.scope,
    key,
    request: options.request,
    now: ctx.now(),
    staleAfterMs: STALE_AFTER_MS,
  });
  if (claim.kind === "replay") {
    c.header("idempotent-replayed", "true");
    c.header("cache-control", "no-store");
    c.header("content-type", claim.status >= 400 ? "application/problem+json" : "application/json");
    return c.body(JSON.stringify(claim.body), claim.status as ContentfulStatusCode);
  }
  let body: unknown;
  try {
    body = await work();
  } catch (error) {
    if (error instanceof AppError && error.code === "IDEMPOTENCY_IN_PROGRESS") throw error;
    if (error instanceof AppError && error.status < 500) {
      const problem = problemOf(error, c.get("requestId"), c.req.path);
      await completeIdempotencyKey(
        ctx.db,
        claim.id,
        { status: error.status, body: problem },
        ctx.now(),
      );
    } else {
      await releaseIdempotencyKey(ctx.db, claim.id).catch((releaseError: unknown) =>
        ctx.logger.error({ err: releaseError }, "could not release an idempotency key"),
      );
    }
    throw error;
  }
  await completeIdempotencyKey(ctx.db, claim.id, { status: options.status, body }, ctx.now()).catch(
    (storeError: unknown) =>
      ctx.logger.error({ err: storeError }, "could not store an idempotent answer"),
  );
  return c.json(body, options.status);
}
