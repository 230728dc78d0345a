import { type Db, refreshTokens, users } from "@minispod/db";
import { randomToken } from "@minispod/shared";
import { hash } from "@node-rs/bcrypt";
import { and, eq, isNull, sql } from "drizzle-orm";

export interface AdminStatus {
  email: string;
  created: boolean;
  /** The generated password, returned once when the account was created without ADMIN_PASSWORD. */
  password?: string;
  /**
   * ADMIN_PASSWORD was set but the admin already existed, so it was not
   * applied: an environment variable never overwrites a password someone may
   * have changed since (`npm run admin -- reset-password` does that on purpose).
   */
  ignoredPassword: boolean;
}

/**
 * Makes sure a SUPER_ADMIN exists. The password comes from ADMIN_PASSWORD, or
 * is generated and returned once (printed by the runner); an existing account
 * is left as it is, and the caller is told when ADMIN_PASSWORD was ignored.
 */
export async function ensureAdmin(
  db: Db,
  input: { email: string; password: string | undefined; bcryptCost: number },
): Promise<AdminStatus> {
  const [existing] = await db
    .select({ id: users.id })
    .from(users)
    .where(sql`lower(${users.email}) = lower(${input.email})`);
  if (existing) return { email: input.email, created: false, ignoredPassword: !!input.password };
  const password = input.password ?? randomToken(12);
  await db.insert(users).values({
    email: input.email.toLowerCase(),
    name: "Administrator",
    role: "SUPER_ADMIN",
    passwordHash: await hash(password, { cost: input.bcryptCost }),
    emailVerifiedAt: new Date(),
  });
  return {
    email: input.email,
    created: true,
    ignoredPassword: false,
    ...(input.password ? {} : { password }),
  };
}

/**
 * Sets a new password on an existing admin account (the chosen one, or a
 * generated one that is returned) and revokes its sessions, like a password
 * reset through the API.
 */
export async function resetAdminPassword(
  db: Db,
  input: { email: string; password: string | undefined; bcryptCost: number; now?: Date },
): Promise<{ password: string; generated: boolean } | undefined> {
  const password = input.password ?? randomToken(12);
  const passwordHash = await hash(password, { cost: input.bcryptCost });
  const now = input.now ?? new Date();
  const updated = await db.transaction(async (tx) => {
    const [admin] = await tx
      .update(users)
      .set({ passwordHash, passwordChangedAt: now })
      .where(
        and(
          sql`lower(${users.email}) = lower(${input.email})`,
          sql`${users.role} in ('ADMIN', 'SUPER_ADMIN')`,
        ),
      )
      .returning({ id: users.id });
    if (!admin) return false;
    await tx
      .update(refreshTokens)
      .set({ revokedAt: now })
      .where(and(eq(refreshTokens.userId, admin.id), isNull(refreshTokens.revokedAt)));
    return true;
  });
  return updated ? { password, generated: !input.password } : undefined;
}
