import type { BillingContext } from "@minispod/billing";
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  isUnsettledConflict,
  releaseIdempotencyKey,
} from "@minispod/billing";
import { type AppEnv, AppError, problemOf } from "@minispod/shared";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

const KEY = /^[\x21-\x7e]{1,255}$/;
/** Longer than any charge may take (PAYMENT_TIMEOUT), so only dead requests go stale. */
const STALE_AFTER_MS = 2 * 60_000;

export interface IdempotentResult {
  status: ContentfulStatusCode;
  body: unknown;
}

/**
 * Runs `work` under the request's `Idempotency-Key` (when sent): the first
 * answer, success or 4xx problem, is stored and replayed for the same key and
 * body with the same status. A 5xx frees the key, as a retry may fare better;
 * so does a 409 that only says a payment is still unsettled (`isUnsettledConflict`):
 * not final, so a retry after settlement gets the real answer. A key with a
 * payment committed under it stays bound to that payment (`releaseIdempotencyKey`).
 */
export async function idempotent(
  c: Context<AppEnv>,
  ctx: Pick<BillingContext, "db" | "now" | "logger">,
  options: { scope: string; request: unknown },
  work: (claim?: { chargeKey: string; released: boolean }) => Promise<IdempotentResult>,
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
  const userId = c.get("auth").userId;
  const claim = await claimIdempotencyKey(ctx.db, {
    userId,
    scope: options.scope,
    key,
    request: options.request,
    now: ctx.now(),
    staleAfterMs: STALE_AFTER_MS,
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
    // The provider key derives from the claim, which keeps its id when a stale claim is
    // taken over: the taker finds the dead request's payment and finishes it, never
    // charging a second time.
    result = await work({ chargeKey: `pay_${claim.id}`, released: claim.released });
  } catch (error) {
    // Someone else still works under this claim (a request we took over was alive after
    // all): leave the claim to it, neither storing this answer nor freeing the key.
    if (error instanceof AppError && error.code === "IDEMPOTENCY_IN_PROGRESS") throw error;
    // A 4xx is the answer, stored for replay, except a conflict with a payment still
    // unsettled: true now, not final, so a retry after settlement gets the real one.
    if (error instanceof AppError && error.status < 500 && !isUnsettledConflict(error)) {
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
