import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  releaseIdempotencyKey,
} from "@minispod/billing";
import type { Db } from "@minispod/db";
import { type AppEnv, AppError, type Logger, problemOf } from "@minispod/shared";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

const KEY = /^[\x21-\x7e]{1,255}$/;
/** A claim older than this belongs to a request that died (no step here takes long). */
const STALE_AFTER_MS = 60_000;

/**
 * Runs `work` under the request's `Idempotency-Key` when one is sent, the way
 * `POST /api/v1/subscriptions` does (the same table and rules): the first
 * answer, success or 4xx problem, is replayed for the same key and body; the
 * same key with another body is 422; a 5xx frees the key.
 */
export async function idempotent(
  c: Context<AppEnv>,
  ctx: { db: Db; now: () => Date; logger: Logger },
  options: { scope: string; request: unknown },
  work: () => Promise<{ status: ContentfulStatusCode; body: unknown }>,
): Promise<Response> {
  const key = c.req.header("idempotency-key");
  if (key === undefined) {
    const result = await work();
    return c.json(result.body, result.status);
  }
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
  let result: { status: ContentfulStatusCode; body: unknown };
  try {
    result = await work();
  } catch (error) {
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
  await completeIdempotencyKey(ctx.db, claim.id, result, ctx.now()).catch((storeError: unknown) =>
    ctx.logger.error({ err: storeError }, "could not store an idempotent answer"),
  );
  return c.json(result.body, result.status);
}
