import { type Db, preparedQuery, users } from "@minispod/db";
import { AppError } from "@minispod/shared";
import { eq, sql } from "drizzle-orm";

export type UserRow = typeof users.$inferSelect;

/** The public shape of a user: never the password hash. */
export function toUserDto(user: UserRow) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    emailVerified: user.emailVerifiedAt !== null,
    createdAt: user.createdAt.toISOString(),
  };
}

export async function findUserByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  const [user] = await db.select().from(users).where(sql`lower(${users.email}) = lower(${email})`);
  return user;
}

// Every authenticated auth request runs this one: prepared once per handle.
const userById = preparedQuery((db) =>
  db
    .select()
    .from(users)
    .where(eq(users.id, sql.placeholder("id")))
    .prepare("auth_user_by_id"),
);

/**
 * Loads the caller of an access token. A deleted or disabled account, or a
 * token issued before the last password change, no longer counts.
 */
export async function loadActiveUser(db: Db, userId: string, issuedAt?: Date): Promise<UserRow> {
  const [user] = await userById(db).execute({ id: userId });
  if (!user) throw new AppError("INVALID_TOKEN", { detail: "The account no longer exists." });
  if (user.disabledAt)
    throw new AppError("ACCOUNT_DISABLED", { detail: "This account is disabled." });
  if (issuedAt && user.passwordChangedAt && issuedAt.getTime() < user.passwordChangedAt.getTime()) {
    throw new AppError("INVALID_TOKEN", {
      detail: "The password changed since this token was issued.",
    });
  }
  return user;
}
