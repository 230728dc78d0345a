import {
  type Db,
  refreshTokens,
  serviceInstances,
  subscriptions,
  type UserRole,
  users,
} from "@minispod/db";
import { AppError, recordAudit, revokeUserTokens, type UserActor } from "@minispod/shared";
import { and, asc, count, eq, inArray, isNull } from "drizzle-orm";
import type { AdminContext } from "./context";
import { type UserDto, userDto, userNotFound } from "./users";

type UserRow = typeof users.$inferSelect;

/** Subscriptions that are live (billed or about to be) and instances that run. */
const LIVE_SUBSCRIPTIONS = ["PENDING", "ACTIVE", "PAST_DUE"] as const;
const RUNNING_INSTANCES = ["PENDING", "PROVISIONING", "RUNNING"] as const;

/**
 * Locks, in one order for every account change (functions/admin/README.md): every
 * SUPER_ADMIN row by id, then the target row. Two concurrent demotions (or a
 * demotion and a disable) of the last two SUPER_ADMINs therefore run one after
 * the other, and the second sees the first's result.
 */
async function lockForChange(tx: Db, id: string) {
  const superAdmins = await tx
    .select({ id: users.id, disabledAt: users.disabledAt })
    .from(users)
    .where(eq(users.role, "SUPER_ADMIN"))
    .orderBy(asc(users.id))
    .for("update");
  const [target] = await tx.select().from(users).where(eq(users.id, id)).for("update");
  if (!target) throw userNotFound();
  const othersActive = superAdmins.filter((s) => s.id !== id && !s.disabledAt).length;
  return { target, superAdmins, othersActive };
}

/**
 * Ends the user's sessions: refresh tokens revoked, and the revocation mark
 * that every function's verifier checks, so access tokens already handed out
 * are refused at once. Called last inside the transaction: if the mark can't
 * be written, the change rolls back rather than half-apply.
 */
async function endSessions(ctx: AdminContext, tx: Db, userId: string, now: Date) {
  await tx
    .update(refreshTokens)
    .set({ revokedAt: now })
    .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)));
  await revokeUserTokens(ctx.store, userId, now, ctx.accessTokenTtl);
}

export interface RoleChange {
  user: UserDto;
  previousRole: UserRole;
  changed: boolean;
}

/**
 * SUPER_ADMIN only (the route checks the role; this checks it again against
 * the locked rows, so a caller demoted a moment ago can't act). The last
 * active SUPER_ADMIN can't be demoted (409). The user's sessions end, so the
 * new role applies to their next token.
 */
export async function changeRole(
  ctx: AdminContext,
  input: { actor: UserActor; userId: string; role: UserRole },
): Promise<RoleChange> {
  return ctx.db.transaction(async (tx) => {
    const { target, superAdmins, othersActive } = await lockForChange(tx, input.userId);
    const caller = superAdmins.find((s) => s.id === input.actor.id);
    if (!caller || caller.disabledAt) {
      throw new AppError("FORBIDDEN", { detail: "Only a SUPER_ADMIN may change roles." });
    }
    if (target.role === input.role) {
      return { user: userDto(target), previousRole: target.role, changed: false };
    }
    if (target.role === "SUPER_ADMIN" && othersActive === 0) {
      throw new AppError("CONFLICT", {
        detail: "This is the last active SUPER_ADMIN; promote another user first.",
      });
    }
    const now = ctx.now();
    const [updated] = await tx
      .update(users)
      .set({ role: input.role, updatedAt: now })
      .where(eq(users.id, target.id))
      .returning();
    await recordAudit(tx, {
      actor: input.actor,
      action: "user.role_changed",
      resourceType: "user",
      resourceId: target.id,
      metadata: { from: target.role, to: input.role },
      at: now,
    });
    await endSessions(ctx, tx, target.id, now);
    return { user: userDto(updated!), previousRole: target.role, changed: true };
  });
}

function refuseAccountChange(actor: UserActor, target: UserRow, verb: "disable" | "enable") {
  if (target.id === actor.id) {
    throw new AppError("CONFLICT", { detail: `You can't ${verb} your own account.` });
  }
  if (target.role === "SUPER_ADMIN" && actor.role !== "SUPER_ADMIN") {
    throw new AppError("FORBIDDEN", {
      detail: `Only a SUPER_ADMIN may ${verb} a SUPER_ADMIN.`,
    });
  }
}

/** What disabling leaves running: nothing is suspended or cancelled by it. */
async function holdings(tx: Db, userId: string) {
  const [live] = await tx
    .select({ n: count() })
    .from(subscriptions)
    .where(
      and(eq(subscriptions.userId, userId), inArray(subscriptions.status, [...LIVE_SUBSCRIPTIONS])),
    );
  const [running] = await tx
    .select({ n: count() })
    .from(serviceInstances)
    .innerJoin(subscriptions, eq(subscriptions.id, serviceInstances.subscriptionId))
    .where(
      and(
        eq(subscriptions.userId, userId),
        inArray(serviceInstances.status, [...RUNNING_INSTANCES]),
      ),
    );
  return { liveSubscriptions: live?.n ?? 0, runningInstances: running?.n ?? 0 };
}

export const DISABLE_NOTE =
  "Disabling ends the user's sessions and blocks sign-in only. Their subscriptions and instances are not touched: instances keep running and subscriptions keep renewing (and billing) as before until an admin or the user cancels them.";

export interface AccountChange {
  user: UserDto;
  changed: boolean;
  liveSubscriptions: number;
  runningInstances: number;
  note: string;
}

/**
 * Disables an account: sign-in refused, sessions and access tokens revoked at
 * once. Says what keeps running. Nobody disables themselves; only a
 * SUPER_ADMIN disables a SUPER_ADMIN (and never the last active one, which
 * can't happen without disabling oneself). Disabling a disabled user changes
 * nothing.
 */
export async function disableUser(
  ctx: AdminContext,
  input: { actor: UserActor; userId: string; reason?: string | undefined },
): Promise<AccountChange> {
  return ctx.db.transaction(async (tx) => {
    const { target, othersActive } = await lockForChange(tx, input.userId);
    refuseAccountChange(input.actor, target, "disable");
    const held = await holdings(tx, target.id);
    if (target.disabledAt) {
      return { user: userDto(target), changed: false, ...held, note: DISABLE_NOTE };
    }
    if (target.role === "SUPER_ADMIN" && othersActive === 0) {
      throw new AppError("CONFLICT", { detail: "This is the last active SUPER_ADMIN." });
    }
    const now = ctx.now();
    const [updated] = await tx
      .update(users)
      .set({ disabledAt: now, updatedAt: now })
      .where(eq(users.id, target.id))
      .returning();
    await recordAudit(tx, {
      actor: input.actor,
      action: "user.disabled",
      resourceType: "user",
      resourceId: target.id,
      metadata: { reason: input.reason ?? null, ...held },
      at: now,
    });
    await endSessions(ctx, tx, target.id, now);
    return { user: userDto(updated!), changed: true, ...held, note: DISABLE_NOTE };
  });
}

/** Lets a disabled user sign in again (their old tokens stay revoked). */
export async function enableUser(
  ctx: AdminContext,
  input: { actor: UserActor; userId: string },
): Promise<AccountChange> {
  return ctx.db.transaction(async (tx) => {
    const { target } = await lockForChange(tx, input.userId);
    refuseAccountChange(input.actor, target, "enable");
    const held = await holdings(tx, target.id);
    const note = "The user may sign in again; nothing else changes.";
    if (!target.disabledAt) return { user: userDto(target), changed: false, ...held, note };
    const now = ctx.now();
    const [updated] = await tx
      .update(users)
      .set({ disabledAt: null, updatedAt: now })
      .where(eq(users.id, target.id))
      .returning();
    await recordAudit(tx, {
      actor: input.actor,
      action: "user.enabled",
      resourceType: "user",
      resourceId: target.id,
      metadata: { disabledAt: target.disabledAt.toISOString() },
      at: now,
    });
    return { user: userDto(updated!), changed: true, ...held, note };
  });
}
