import { type SubscriptionStatus, subscriptions } from "@minispod/db";
import { keyset, listOwner, type Page, type PageQuery } from "@minispod/shared";
import { and, eq, gte, lt } from "drizzle-orm";
import type { Actor, BillingContext } from "./context";
import { type SubscriptionDto, selectSubscriptions, subscriptionDto } from "./views";

export interface ListSubscriptionsInput {
  actor: Actor;
  page: PageQuery;
  /** Admins only: one customer's subscriptions. */
  userId?: string | undefined;
  status?: SubscriptionStatus | undefined;
  serviceId?: string | undefined;
  /** Current period ending at or after this instant. */
  periodEndFrom?: Date | undefined;
  /** Current period ending before this instant. */
  periodEndTo?: Date | undefined;
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
  const owner = listOwner(actor, input.userId, "subscriptions");
  const p = keyset(subscriptions.createdAt, subscriptions.id, input.page);
  const rows = await selectSubscriptions(ctx.db)
    .where(
      and(
        owner ? eq(subscriptions.userId, owner) : undefined,
        input.status ? eq(subscriptions.status, input.status) : undefined,
        input.serviceId ? eq(subscriptions.serviceId, input.serviceId) : undefined,
        input.periodEndFrom ? gte(subscriptions.currentPeriodEnd, input.periodEndFrom) : undefined,
        input.periodEndTo ? lt(subscriptions.currentPeriodEnd, input.periodEndTo) : undefined,
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
