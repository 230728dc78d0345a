import { type Db, idempotencyKeys, payments } from "@minispod/db";
import { AppError, sha256 } from "@minispod/shared";
import { and, eq } from "drizzle-orm";

export type IdempotencyClaim =
  | {
      kind: "claimed";
      id: string;
      /**
       * True when this claim was released by an earlier request that ended with an
       * unknown charge outcome (see `releaseIdempotencyKey`): nobody else works
       * under it, and its payment (provider key `pay_<id>`) is ours to finish.
       */
      released: boolean;
    }
  | { kind: "replay"; status: number; body: unknown };

export interface ClaimInput {
  userId: string;
  /** What the key is for, e.g. "subscriptions.create"; one key may be reused across scopes. */
  scope: string;
  key: string;
  /** The validated request, so formatting differences do not count as another body. */
  request: unknown;
  now: Date;
  /** A claim older than this is taken to belong to a request that died. */
  staleAfterMs: number;
}

/** Stable JSON: object keys sorted, so equal requests hash equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * Claims an `Idempotency-Key` before any work: the INSERT either wins (run the
 * work) or finds the earlier request, whose stored answer is replayed. A
 * different body under the same key is 422; a duplicate while the first is
 * still running is 409, so racing requests run the work exactly once.
 */
export async function claimIdempotencyKey(db: Db, input: ClaimInput): Promise<IdempotencyClaim> {
  const requestHash = sha256(canonical(input.request));
  const [claimed] = await db
    .insert(idempotencyKeys)
    .values({
      userId: input.userId,
      scope: input.scope,
      key: input.key,
      requestHash,
      createdAt: input.now,
    })
    .onConflictDoNothing()
    .returning({ id: idempotencyKeys.id });
  if (claimed) return { kind: "claimed", id: claimed.id, released: false };

  const [earlier] = await db
    .select()
    .from(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.userId, input.userId),
        eq(idempotencyKeys.scope, input.scope),
        eq(idempotencyKeys.key, input.key),
      ),
    );
  // Released between our insert and this read: the caller may simply retry.
  if (!earlier) throw inProgress();
  if (earlier.requestHash !== requestHash) {
    throw new AppError("IDEMPOTENCY_KEY_REUSED", {
      detail: "This Idempotency-Key was used with a different request; use a new key.",
    });
  }
  if (earlier.status === "COMPLETED") {
    return { kind: "replay", status: earlier.responseStatus ?? 200, body: earlier.responseBody };
  }
  // IN_PROGRESS with an answer recorded: released by a request that ended unsettled.
  const released = earlier.responseStatus !== null;
  if (released || input.now.getTime() - earlier.createdAt.getTime() > input.staleAfterMs) {
    // Take over a released or a dead request's claim, keeping its id (and so its
    // payment's provider key); compare-and-set so only one taker wins.
    const [taken] = await db
      .update(idempotencyKeys)
      .set({ createdAt: input.now, responseStatus: null, responseBody: null, completedAt: null })
      .where(
        and(
          eq(idempotencyKeys.id, earlier.id),
          eq(idempotencyKeys.status, "IN_PROGRESS"),
          eq(idempotencyKeys.createdAt, earlier.createdAt),
        ),
      )
      .returning({ id: idempotencyKeys.id });
    if (taken) return { kind: "claimed", id: taken.id, released };
  }
  throw inProgress();
}

function inProgress(): AppError {
  return new AppError("IDEMPOTENCY_IN_PROGRESS", {
    detail: "A request with this Idempotency-Key is still being processed; retry shortly.",
    retryAfter: 1,
  });
}

/** Stores the answer, so a retry with the same key gets it again. */
export async function completeIdempotencyKey(
  db: Db,
  id: string,
  response: { status: number; body: unknown },
  now: Date,
): Promise<void> {
  await db
    .update(idempotencyKeys)
    .set({
      status: "COMPLETED",
      responseStatus: response.status,
      responseBody: response.body,
      completedAt: now,
    })
    .where(eq(idempotencyKeys.id, id));
}

/**
 * Frees the key after a failure whose outcome a retry may change (a 5xx, or a
 * conflict with a payment still unsettled). Nothing is stored as the key's answer.
 *
 * - No payment was committed under the claim (`pay_<id>`): the row is deleted, so
 *   a retry starts afresh (even with another body).
 * - A payment was: the row stays IN_PROGRESS with the answer's status noted, which
 *   marks it released. The next request with the same key and body takes it over at
 *   once, keeping the id, so it finds that payment and finishes it (its settled
 *   outcome, or a fresh look at the provider) instead of charging again.
 */
export async function releaseIdempotencyKey(
  db: Db,
  id: string,
  released?: { status: number; now: Date },
): Promise<void> {
  const [payment] = await db
    .select({ id: payments.id })
    .from(payments)
    .where(eq(payments.idempotencyKey, `pay_${id}`));
  if (!payment) {
    await db.delete(idempotencyKeys).where(eq(idempotencyKeys.id, id));
    return;
  }
  await db
    .update(idempotencyKeys)
    .set({
      status: "IN_PROGRESS",
      responseStatus: released?.status ?? 500,
      responseBody: null,
      completedAt: released?.now ?? new Date(),
    })
    .where(eq(idempotencyKeys.id, id));
}
