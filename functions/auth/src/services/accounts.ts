import { type Db, isUniqueViolation, type UserRole, users } from "@minispod/db";
import { AppError, enqueueEvent, recordAudit, revokeUserTokens } from "@minispod/shared";
import { eq } from "drizzle-orm";
import type { AuthDeps } from "../deps";
import { consumeOneTimeToken, issueOneTimeToken } from "./one-time-tokens";
import { type ClientInfo, type IssuedSession, issueSession, revokeAllSessions } from "./sessions";
import { findUserByEmail, loadActiveUser, type UserRow } from "./users";

const SOURCE = "auth";

/** Account changes are made by the account's own user, over a request. */
export async function audit(
  tx: Db,
  entry: { user: { id: string; role: UserRole }; action: string; client: ClientInfo },
) {
  await recordAudit(tx, {
    actor: {
      id: entry.user.id,
      role: entry.user.role,
      ip: entry.client.ip,
      // Bounded: the header is the client's to fill, the audit row is ours to keep.
      userAgent: entry.client.userAgent?.slice(0, 512),
      requestId: entry.client.requestId,
    },
    action: entry.action,
    resourceType: "user",
    resourceId: entry.user.id,
    ownerId: entry.user.id,
  });
}

export interface RegisterInput {
  email: string;
  password: string;
  name: string;
}

/** Creates a CUSTOMER, its first session, and `user.registered` (with the verification token). */
export async function register(
  deps: AuthDeps,
  input: RegisterInput,
  client: ClientInfo,
): Promise<{ user: UserRow; session: IssuedSession }> {
  const passwordHash = await deps.passwords.hash(input.password);
  const now = deps.now();
  try {
    const result = await deps.db.transaction(async (tx) => {
      const [user] = await tx
        .insert(users)
        .values({ email: input.email, name: input.name, passwordHash, role: "CUSTOMER" })
        .returning();
      const verification = await issueOneTimeToken(tx, {
        userId: user!.id,
        purpose: "EMAIL_VERIFICATION",
        ttlSeconds: deps.env.EMAIL_VERIFICATION_TTL,
        now,
      });
      await enqueueEvent(tx, {
        type: "user.registered",
        source: SOURCE,
        subject: user!.id,
        data: {
          userId: user!.id,
          email: user!.email,
          name: user!.name,
          verificationToken: verification.token,
          verificationExpiresAt: verification.expiresAt.toISOString(),
        },
      });
      await audit(tx, { user: user!, action: "user.register", client });
      const session = await issueSession(deps, tx, user!, client);
      return { user: user!, session };
    });
    deps.events.kick();
    return result;
  } catch (error) {
    if (isUniqueViolation(error, "users_email_lower_uq")) {
      throw new AppError("EMAIL_TAKEN", {
        detail: "An account with this email already exists.",
        fields: [{ field: "email", message: "is already registered" }],
      });
    }
    throw error;
  }
}

const badCredentials = () =>
  new AppError("INVALID_CREDENTIALS", { detail: "The email or password is incorrect." });

/**
 * Unknown email and wrong password answer the same, after the same bcrypt work.
 * A disabled account is only revealed to someone who knows its password.
 */
export async function login(
  deps: AuthDeps,
  input: { email: string; password: string },
  client: ClientInfo,
): Promise<{ user: UserRow; session: IssuedSession }> {
  const user = await findUserByEmail(deps.db, input.email);
  const ok = user
    ? await deps.passwords.verify(input.password, user.passwordHash)
    : await deps.passwords.verifyDummy(input.password);
  if (!user || !ok) throw badCredentials();
  if (user.disabledAt)
    throw new AppError("ACCOUNT_DISABLED", { detail: "This account is disabled." });
  // A sign-in is on the user's own trail (where from, which client), with its session.
  const session = await deps.db.transaction(async (tx) => {
    await audit(tx, { user, action: "user.login", client });
    return issueSession(deps, tx, user, client);
  });
  return { user, session };
}

export async function changePassword(
  deps: AuthDeps,
  input: { userId: string; issuedAt: Date; currentPassword: string; newPassword: string },
  client: ClientInfo,
): Promise<IssuedSession> {
  const user = await loadActiveUser(deps.db, input.userId, input.issuedAt);
  if (!(await deps.passwords.verify(input.currentPassword, user.passwordHash))) {
    throw new AppError("VALIDATION_FAILED", {
      detail: "The current password is incorrect.",
      fields: [{ field: "currentPassword", message: "is incorrect" }],
    });
  }
  const passwordHash = await deps.passwords.hash(input.newPassword);
  const now = deps.now();
  const session = await deps.db.transaction(async (tx) => {
    await tx
      .update(users)
      .set({ passwordHash, passwordChangedAt: now })
      .where(eq(users.id, user.id));
    // Every other session ends; the caller continues on the fresh one returned here.
    await revokeAllSessions(tx, user.id, now);
    await enqueueEvent(tx, {
      type: "user.password_changed",
      source: SOURCE,
      subject: user.id,
      data: { userId: user.id, email: user.email },
    });
    await audit(tx, { user, action: "user.password_change", client });
    return issueSession(deps, tx, user, client);
  });
  await revokeUserTokens(deps.store, user.id, now, deps.env.JWT_EXPIRES_IN);
  deps.events.kick();
  return session;
}

/** Always resolves the same way; only a known, enabled account gets a reset email. */
export async function requestPasswordReset(deps: AuthDeps, email: string): Promise<void> {
  const user = await findUserByEmail(deps.db, email);
  if (!user || user.disabledAt) return;
  await emailOneTimeToken(deps, user, "PASSWORD_RESET");
}

// Well-formed but unknown, used or expired: 422, as the document cannot tell such a token apart.
const badToken = () =>
  new AppError("UNPROCESSABLE", {
    detail: "The token is invalid, already used or expired.",
    fields: [{ field: "token", message: "is invalid or expired" }],
  });

export async function resetPassword(
  deps: AuthDeps,
  input: { token: string; password: string },
  client: ClientInfo,
): Promise<void> {
  const passwordHash = await deps.passwords.hash(input.password);
  const now = deps.now();
  const resetUserId = await deps.db.transaction(async (tx) => {
    const userId = await consumeOneTimeToken(tx, {
      token: input.token,
      purpose: "PASSWORD_RESET",
      now,
    });
    if (!userId) throw badToken();
    const [user] = await tx
      .update(users)
      .set({ passwordHash, passwordChangedAt: now })
      .where(eq(users.id, userId))
      .returning();
    await revokeAllSessions(tx, userId, now);
    await enqueueEvent(tx, {
      type: "user.password_changed",
      source: SOURCE,
      subject: userId,
      data: { userId, email: user!.email },
    });
    await audit(tx, { user: user!, action: "user.password_reset", client });
    return userId;
  });
  await revokeUserTokens(deps.store, resetUserId, now, deps.env.JWT_EXPIRES_IN);
  deps.events.kick();
}

export async function verifyEmail(deps: AuthDeps, token: string): Promise<void> {
  const now = deps.now();
  await deps.db.transaction(async (tx) => {
    const userId = await consumeOneTimeToken(tx, { token, purpose: "EMAIL_VERIFICATION", now });
    if (!userId) throw badToken();
    const [user] = await tx
      .update(users)
      .set({ emailVerifiedAt: now })
      .where(eq(users.id, userId))
      .returning();
    await enqueueEvent(tx, {
      type: "user.email_verified",
      source: SOURCE,
      subject: userId,
      data: { userId, email: user!.email },
    });
  });
  deps.events.kick();
}

/** Sends a fresh verification email; 409 when the email is already verified. */
export async function resendVerification(
  deps: AuthDeps,
  userId: string,
  issuedAt: Date,
): Promise<void> {
  const user = await loadActiveUser(deps.db, userId, issuedAt);
  if (user.emailVerifiedAt) {
    throw new AppError("CONFLICT", { detail: "This email address is already verified." });
  }
  await emailOneTimeToken(deps, user, "EMAIL_VERIFICATION");
}

/**
 * Issues a fresh single-use token and asks the notifier (through the outbox,
 * in the same transaction) to email it.
 */
async function emailOneTimeToken(
  deps: AuthDeps,
  user: UserRow,
  purpose: "PASSWORD_RESET" | "EMAIL_VERIFICATION",
): Promise<void> {
  const reset = purpose === "PASSWORD_RESET";
  await deps.db.transaction(async (tx) => {
    const { token, expiresAt } = await issueOneTimeToken(tx, {
      userId: user.id,
      purpose,
      ttlSeconds: reset ? deps.env.PASSWORD_RESET_TTL : deps.env.EMAIL_VERIFICATION_TTL,
      now: deps.now(),
    });
    await enqueueEvent(tx, {
      type: reset ? "user.password_reset_requested" : "user.email_verification_requested",
      source: SOURCE,
      subject: user.id,
      data: {
        userId: user.id,
        email: user.email,
        name: user.name,
        token,
        expiresAt: expiresAt.toISOString(),
      },
    });
  });
  deps.events.kick();
}
