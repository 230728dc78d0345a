import { type Db, serviceCatalog, subscriptions } from "@minispod/db";
import { AppError } from "@minispod/shared";
import { eq } from "drizzle-orm";
import { type Actor, canReach } from "./context";

/**
 * Locks the subscription (with its service) for a change by `actor`.
 *
 * Row locks on a subscription's rows are always taken in one order:
 * subscription, then its invoice(s), then payment(s) (see "Row locks" in the
 * README). This is the first lock of renew, cancel and setAutoRenew;
 * settling (settle.ts) takes the same three in the same order, so operations
 * on one subscription queue on this row instead of deadlocking.
 * Another customer's subscription answers 404 like a missing one, so ids leak nothing.
 */
export async function lockReachableSubscription(tx: Db, id: string, actor: Actor) {
  const [row] = await tx
    .select({
      subscription: subscriptions,
      service: { id: serviceCatalog.id, slug: serviceCatalog.slug, name: serviceCatalog.name },
    })
    .from(subscriptions)
    .innerJoin(serviceCatalog, eq(serviceCatalog.id, subscriptions.serviceId))
    .where(eq(subscriptions.id, id))
    .for("update", { of: subscriptions });
  if (!row || !canReach(actor, row.subscription.userId)) throw subscriptionNotFound();
  return row;
}

export function subscriptionNotFound(): AppError {
  return new AppError("NOT_FOUND", { detail: "No subscription with this id." });
}
