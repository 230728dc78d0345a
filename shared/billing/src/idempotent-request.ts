import type { Db } from "@minispod/db";
import { type AppEnv, AppError, type Logger, problemOf } from "@minispod/shared";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey } from "./idempotency";

const KEY = /^[\x21-\x7e]{1,255}$/;

export interface IdempotentResult {
  status: ContentfulStatusCode;
  body: unknown;
}

export interface IdempotentRequestOptions {
  /** What the key is for, e.g. "subscriptions.create" (see `claimIdempotencyKey`). */
  scope: string;
  /** The request as the key binds it: the same key with another one is 422. */
  request: unknown;
  /** A claim unanswered for this long belongs to a request that died; it can be taken over. */
  staleAfterMs: number;
  /**
   * A 4xx that is true now but not final (a payment still unsettled): not stored
   * as the key's answer, the key freed, so a retry gets the real one. Default: none.
   */
  notFinal?: ((error: AppError) => boolean) | undefined;
}

/**
 * Runs `work` under the request's `Idempotency-Key` header (when sent): the first
 * answer, success or 4xx problem, is stored and replayed for the same key and
 * body with the same status; another body under the key is 422. A 5xx (or a
 * `notFinal` 4xx) frees the key, as a retry may fare better; a key with a payment
 * committed under it stays bound to that payment (`releaseIdempotencyKey`).
 * `work` gets the claim (absent without a header): its id names the payment a
 * charge under it makes (`pay_<id>`), and `released` says an earlier request
 * left that payment for this one to finish.
 */
export async function idempotentRequest(
  c: Context<AppEnv>,
  ctx: { db: Db; now: () => Date; logger: Logger },
  options: IdempotentRequestOptions,
  work: (claim?: { id: string; released: boolean }) => Promise<IdempotentResult>,
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
    staleAfterMs: options.staleAfterMs,
  });
  if (claim.kind === "replay") {
    // Through the context, so the request id and security headers are set as on any answer.
    c.header("idempotent-replayed", "true");
    c.header("cache-control", "no-store");
    c.header("content-type", claim.status >= 400 ? "application/problem+json" : "application/json");
    return c.body(JSON.stringify(claim.body), claim.status as ContentfulStatusCode);
  }
  let result: IdempotentResult;
  try {
    result = await work({ id: claim.id, released: claim.released });
  } catch (error) {
    // Someone else still works under this claim (a request we took over was alive after
    // all): leave the claim to it, neither storing this answer nor freeing the key.
    if (error instanceof AppError && error.code === "IDEMPOTENCY_IN_PROGRESS") throw error;
    if (error instanceof AppError && error.status < 500 && !options.notFinal?.(error)) {
      const problem = problemOf(error, c.get("requestId"), c.req.path);
      await completeIdempotencyKey(
        ctx.db,
        claim.id,
        { status: error.status, body: problem },
        ctx.now(),
      );
    } else {
      const status = error instanceof AppError ? error.status : 500;
      // Deleted, or, when a payment was committed under it, kept for the retry to finish.
      await releaseIdempotencyKey(ctx.db, claim.id, { status, now: ctx.now() }).catch(
        (releaseError: unknown) =>
          ctx.logger.error({ err: releaseError }, "could not release an idempotency key"),
      );
    }
    throw error;
  }
  // The work is done: failing to store its answer must not turn it into an error.
  // The key then stays claimed until it goes stale.
  await completeIdempotencyKey(ctx.db, claim.id, result, ctx.now()).catch((storeError: unknown) =>
    ctx.logger.error({ err: storeError }, "could not store an idempotent answer"),
  );
  return c.json(result.body, result.status);
}
