import { type Db, users } from "@minispod/db";
import { randomToken } from "@minispod/shared";
import { hash } from "@node-rs/bcrypt";
import { sql } from "drizzle-orm";

/**
 * Makes sure a SUPER_ADMIN exists. The password comes from ADMIN_PASSWORD, or
 * is generated and returned once (printed by the runner); an existing account
 * is left as it is.
 */
export async function ensureAdmin(
  db: Db,
  input: { email: string; password: string | undefined; bcryptCost: number },
): Promise<{ created: boolean; password?: string }> {
  const [existing] = await db
    .select({ id: users.id })
    .from(users)
    .where(sql`lower(${users.email}) = lower(${input.email})`);
  if (existing) return { created: false };
  const password = input.password ?? randomToken(12);
  await db.insert(users).values({
    email: input.email.toLowerCase(),
    name: "Administrator",
    role: "SUPER_ADMIN",
    passwordHash: await hash(password, { cost: input.bcryptCost }),
    emailVerifiedAt: new Date(),
  });
  return { created: true, ...(input.password ? {} : { password }) };
}
