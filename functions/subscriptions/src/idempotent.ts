import type { BillingContext, IdempotentResult } from "@minispod/billing";
import { idempotentRequest, isUnsettledConflict } from "@minispod/billing";
import type { AppEnv } from "@minispod/shared";
import type { Context } from "hono";

/** Longer than any charge may take (PAYMENT_TIMEOUT), so only dead requests go stale. */
const STALE_AFTER_MS = 2 * 60_000;

/**
 * `idempotentRequest` for the subscription POSTs that charge: a 409 that only
 * says a payment is still unsettled (`isUnsettledConflict`) is not final, so it
 * frees the key. `work` gets the provider key of the claim's payment: it derives
 * from the claim, which keeps its id when a stale claim is taken over, so the
 * taker finds the dead request's payment and finishes it, never charging twice.
 */
export function idempotent(
  c: Context<AppEnv>,
  ctx: Pick<BillingContext, "db" | "now" | "logger">,
  options: { scope: string; request: unknown },
  work: (claim?: { chargeKey: string; released: boolean }) => Promise<IdempotentResult>,
): Promise<Response> {
  return idempotentRequest(
    c,
    ctx,
    { ...options, staleAfterMs: STALE_AFTER_MS, notFinal: isUnsettledConflict },
    (claim) => work(claim && { chargeKey: `pay_${claim.id}`, released: claim.released }),
  );
}
