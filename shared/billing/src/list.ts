import { type SubscriptionStatus, subscriptions } from "@minispod/db";
import { AppError, isAdmin, keyset, type Page, type PageQuery } from "@minispod/shared";
import { and, eq } from "drizzle-orm";
import type { Actor, BillingContext } from "./context";
import { type SubscriptionDto, selectSubscriptions, subscriptionDto } from "./views";

export interface ListSubscriptionsInput {
  actor: Actor;
  page: PageQuery;
  /** Admins only: one customer's subscriptions. */
  userId?: string | undefined;
  status?: SubscriptionStatus | undefined;
}

/** Newest first; customers get their own, admins everyone's (or one customer's). */
export async function listSubscriptions({
  ctx,
  input,
}: {
  ctx: Pick<BillingContext, "db">;
  input: ListSubscriptionsInput;
}): Promise<Page<SubscriptionDto>> {
  const { actor } = input;
  const seesAll = actor.role === "SYSTEM" || isAdmin(actor.role);
  if (input.userId && !seesAll && input.userId !== actor.id) {
    throw new AppError("FORBIDDEN", {
      detail: "Only admins may list another user's subscriptions.",
    });
  }
  const owner = seesAll ? input.userId : (actor.id ?? undefined);
  const p = keyset(subscriptions.createdAt, subscriptions.id, input.page);
  const rows = await selectSubscriptions(ctx.db)
    .where(
      and(
        owner ? eq(subscriptions.userId, owner) : undefined,
        input.status ? eq(subscriptions.status, input.status) : undefined,
        p.where,
      ),
    )
    .orderBy(...p.orderBy)
    .limit(p.fetch);
  return p.page(
    rows.map((row) => ({ ...row, createdAt: row.subscription.createdAt, id: row.subscription.id })),
    subscriptionDto,
  );
}
