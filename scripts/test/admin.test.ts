import { fileURLToPath } from "node:url";
import { refreshTokens, users } from "@minispod/db";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { verify } from "@node-rs/bcrypt";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureAdmin, resetAdminPassword } from "../src/local/admin";
import { runToExit } from "./support/process";

const cli = fileURLToPath(new URL("../src/local/admin-cli.ts", import.meta.url));
let h: Harness;

beforeAll(async () => {
  h = await createHarness();
}, 60_000);
afterAll(async () => {
  await h?.close();
});

async function passwordHashOf(email: string) {
  const [row] = await h.database.db
    .select({ id: users.id, hash: users.passwordHash })
    .from(users)
    .where(eq(users.email, email));
  return row!;
}

describe("the local admin", () => {
  it("is created once; a later ADMIN_PASSWORD is reported as not applied, never silently dropped", async () => {
    const email = "boss@minispod.local";
    const created = await ensureAdmin(h.database.db, { email, password: undefined, bcryptCost: 4 });
    expect(created).toMatchObject({ email, created: true, ignoredPassword: false });
    expect(created.password).toEqual(expect.any(String));

    const again = await ensureAdmin(h.database.db, {
      email,
      password: "a later password",
      bcryptCost: 4,
    });
    expect(again).toEqual({ email, created: false, ignoredPassword: true });
    const { hash } = await passwordHashOf(email);
    expect(await verify(created.password!, hash)).toBe(true);
    expect(await verify("a later password", hash)).toBe(false);

    expect(await ensureAdmin(h.database.db, { email, password: undefined, bcryptCost: 4 })).toEqual(
      { email, created: false, ignoredPassword: false },
    );
  });

  it("reset-password sets the new password and signs the admin out everywhere", async () => {
    const email = "reset@minispod.local";
    await ensureAdmin(h.database.db, { email, password: "first password 1", bcryptCost: 4 });
    const { id } = await passwordHashOf(email);
    await h.database.db.insert(refreshTokens).values({
      userId: id,
      familyId: crypto.randomUUID(),
      tokenHash: "h1",
      expiresAt: new Date(Date.now() + 3_600_000),
    });

    const chosen = await resetAdminPassword(h.database.db, {
      email: "RESET@minispod.local",
      password: "second password 2",
      bcryptCost: 4,
    });
    expect(chosen).toEqual({ password: "second password 2", generated: false });
    expect(await verify("second password 2", (await passwordHashOf(email)).hash)).toBe(true);
    const sessions = await h.database.db
      .select()
      .from(refreshTokens)
      .where(eq(refreshTokens.userId, id));
    expect(sessions.every((s) => s.revokedAt !== null)).toBe(true);

    const generated = await resetAdminPassword(h.database.db, {
      email,
      password: undefined,
      bcryptCost: 4,
    });
    expect(generated?.generated).toBe(true);
    expect(await verify(generated!.password, (await passwordHashOf(email)).hash)).toBe(true);
  });

  it("reset-password touches no customer and no unknown address", async () => {
    await h.database.db.insert(users).values({
      email: "customer@example.com",
      name: "C",
      passwordHash: "x",
      role: "CUSTOMER",
    });
    for (const email of ["customer@example.com", "nobody@minispod.local"]) {
      expect(
        await resetAdminPassword(h.database.db, { email, password: "whatever 123", bcryptCost: 4 }),
      ).toBeUndefined();
    }
    expect((await passwordHashOf("customer@example.com")).hash).toBe("x");
  });
});

describe("npm run admin -- reset-password", () => {
  const env = () => ({ DATABASE_URL: h.databaseUrl, BCRYPT_COST: "4" });

  it("resets the password of ADMIN_EMAIL to ADMIN_PASSWORD", async () => {
    await ensureAdmin(h.database.db, {
      email: "cli@minispod.local",
      password: "old password 1",
      bcryptCost: 4,
    });
    const result = await runToExit(
      cli,
      {
        ...env(),
        ADMIN_EMAIL: "cli@minispod.local",
        ADMIN_PASSWORD: "new password 1",
      },
      ["reset-password"],
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("set from ADMIN_PASSWORD");
    expect(result.stdout).not.toContain("new password 1");
    expect(await verify("new password 1", (await passwordHashOf("cli@minispod.local")).hash)).toBe(
      true,
    );
  });

  it("prints a generated password once when ADMIN_PASSWORD is unset (--email picks the admin)", async () => {
    const result = await runToExit(cli, env(), ["reset-password", "--email", "cli@minispod.local"]);
    expect(result.code, result.stderr).toBe(0);
    const password = /reset to: (\S+)/.exec(result.stdout)?.[1];
    expect(password).toBeDefined();
    expect(await verify(password!, (await passwordHashOf("cli@minispod.local")).hash)).toBe(true);
  });

  it("says so and exits 1 for an address that is no admin", async () => {
    const result = await runToExit(cli, { ...env(), ADMIN_EMAIL: "ghost@minispod.local" }, [
      "reset-password",
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("no admin account ghost@minispod.local");
  });

  it("prints its usage for an unknown command", async () => {
    const result = await runToExit(cli, env(), ["frobnicate"]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain("reset-password");
  });
});
