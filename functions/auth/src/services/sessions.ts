import { randomUUID } from "node:crypto";
import { type Db, refreshTokens, type UserRole, users } from "@minispod/db";
import { AppError, randomToken, sha256 } from "@minispod/shared";
import { and, eq, isNull } from "drizzle-orm";
import type { AuthDeps } from "../deps";

export interface SessionUser {
  id: string;
  email: string;
  role: UserRole;
}

export interface IssuedSession {
  accessToken: string;
  refreshToken: string;
  tokenType: "Bearer";
  expiresIn: number;
}

export interface ClientInfo {
  userAgent?: string | undefined;
  ip?: string | undefined;
  /** For the audit trail. */
  requestId?: string | undefined;
}

/** Starts a refresh-token family (login, register) or continues one (refresh). */
export async function issueSession(
  deps: AuthDeps,
  tx: Db,
  user: SessionUser,
  client: ClientInfo,
  familyId: string = randomUUID(),
): Promise<IssuedSession> {
  const refreshToken = randomToken(32);
  const now = deps.now();
  await tx.insert(refreshTokens).values({
    userId: user.id,
    familyId,
    tokenHash: sha256(refreshToken),
    expiresAt: new Date(now.getTime() + deps.env.JWT_REFRESH_EXPIRES_IN * 1000),
    userAgent: client.userAgent?.slice(0, 300),
    ip: client.ip,
  });
  const accessToken = await deps.signer.sign(
    { userId: user.id, role: user.role, email: user.email },
    deps.env.JWT_EXPIRES_IN,
  );
  return { accessToken, refreshToken, tokenType: "Bearer", expiresIn: deps.env.JWT_EXPIRES_IN };
}

const invalidRefresh = () =>
  new AppError("INVALID_TOKEN", { detail: "The refresh token is invalid, expired or revoked." });

/**
 * Rotates a refresh token. Presenting a token that was already rotated means
 * it was copied: the whole family is revoked and the caller must log in again.
 */
export async function rotateRefreshToken(
  deps: AuthDeps,
  token: string,
  client: ClientInfo,
): Promise<{ session: IssuedSession; user: typeof users.$inferSelect }> {
  const now = deps.now();
  const outcome = await deps.db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, sha256(token)))
      .for("update");
    if (!row) return { kind: "invalid" as const };
    if (row.rotatedAt) {
      await revokeFamily(tx, row.familyId, now);
      return { kind: "reuse" as const, userId: row.userId, familyId: row.familyId };
    }
    if (row.revokedAt || row.expiresAt <= now) return { kind: "invalid" as const };
    const [user] = await tx.select().from(users).where(eq(users.id, row.userId));
    if (!user || user.disabledAt) {
      await revokeFamily(tx, row.familyId, now);
      return { kind: "invalid" as const };
    }
    await tx.update(refreshTokens).set({ rotatedAt: now }).where(eq(refreshTokens.id, row.id));
    const session = await issueSession(deps, tx, user, client, row.familyId);
    return { kind: "ok" as const, session, user };
  });
  if (outcome.kind === "reuse") {
    deps.logger.warn(
      { userId: outcome.userId, familyId: outcome.familyId },
      "rotated refresh token presented again; family revoked",
    );
  }
  if (outcome.kind !== "ok") throw invalidRefresh();
  return { session: outcome.session, user: outcome.user };
}

export async function revokeFamily(tx: Db, familyId: string, now: Date): Promise<void> {
  await tx
    .update(refreshTokens)
    .set({ revokedAt: now })
    .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
}

export async function revokeAllSessions(tx: Db, userId: string, now: Date): Promise<void> {
  await tx
    .update(refreshTokens)
    .set({ revokedAt: now })
    .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)));
}

/** Logout: ends the family of this refresh token. Unknown tokens are ignored (idempotent). */
export async function logout(deps: AuthDeps, token: string): Promise<void> {
  const [row] = await deps.db
    .select({ familyId: refreshTokens.familyId })
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, sha256(token)));
  if (row) await revokeFamily(deps.db, row.familyId, deps.now());
}
