import { type AuthTokenPurpose, authTokens, type Db } from "@minispod/db";
import { randomToken, sha256 } from "@minispod/shared";
import { and, eq, gt, isNull } from "drizzle-orm";

/**
 * Issues a single-use token (password reset, email verification). Only its
 * hash is stored; earlier unused tokens of the same purpose stop working.
 */
export async function issueOneTimeToken(
  tx: Db,
  input: { userId: string; purpose: AuthTokenPurpose; ttlSeconds: number; now: Date },
): Promise<{ token: string; expiresAt: Date }> {
  await tx
    .update(authTokens)
    .set({ usedAt: input.now })
    .where(
      and(
        eq(authTokens.userId, input.userId),
        eq(authTokens.purpose, input.purpose),
        isNull(authTokens.usedAt),
      ),
    );
  const token = randomToken(32);
  const expiresAt = new Date(input.now.getTime() + input.ttlSeconds * 1000);
  await tx.insert(authTokens).values({
    userId: input.userId,
    purpose: input.purpose,
    tokenHash: sha256(token),
    expiresAt,
  });
  return { token, expiresAt };
}

/**
 * Marks the token used and returns its user id, or null when it is unknown,
 * used or expired. The conditional update makes two racing uses yield one winner.
 */
export async function consumeOneTimeToken(
  tx: Db,
  input: { token: string; purpose: AuthTokenPurpose; now: Date },
): Promise<string | null> {
  const [row] = await tx
    .update(authTokens)
    .set({ usedAt: input.now })
    .where(
      and(
        eq(authTokens.tokenHash, sha256(input.token)),
        eq(authTokens.purpose, input.purpose),
        isNull(authTokens.usedAt),
        gt(authTokens.expiresAt, input.now),
      ),
    )
    .returning({ userId: authTokens.userId });
  return row?.userId ?? null;
}
