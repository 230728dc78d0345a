import { idempotentRequest } from "@minispod/billing";
import type { AppEnv } from "@minispod/shared";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { InstancesContext } from "../services/context";

/** A request still unanswered after this long is taken as dead; its key can be claimed again. */
const STALE_AFTER_MS = 60_000;

/**
 * `idempotentRequest` (the rules of `POST /subscriptions`) for the instances
 * POSTs, which always answer `status` on success and charge nothing.
 */
export function idempotent(
  c: Context<AppEnv>,
  ctx: Pick<InstancesContext, "db" | "now" | "logger">,
  options: { scope: string; request: unknown; status: ContentfulStatusCode },
  work: () => Promise<unknown>,
): Promise<Response> {
  const { status, ...rest } = options;
  return idempotentRequest(c, ctx, { ...rest, staleAfterMs: STALE_AFTER_MS }, async () => ({
    status,
    body: await work(),
  }));
}
