import {
  type Db,
  refreshTokens,
  serviceInstances,
  subscriptions,
  type UserRole,
  users,
} from "@minispod/db";
import {
  AppError,
  checkIfMatch,
  recordAudit,
  revokeUserTokens,
  type UserActor,
  versionTag,
} from "@minispod/shared";
import { and, asc, count, eq, inArray, isNull, or } from "drizzle-orm";
import type { AdminContext } from "./context";
import { type UserDto, userDto, userNotFound } from "./users";

type UserRow = typeof users.$inferSelect;

/** Subscriptions that are live (billed or about to be) and instances that run. */
const LIVE_SUBSCRIPTIONS = ["PENDING", "ACTIVE", "PAST_DUE"] as const;
const RUNNING_INSTANCES = ["PENDING", "PROVISIONING", "RUNNING"] as const;

/**
 * Locks every row an account change touches in one statement, in id order:
 * every SUPER_ADMIN, the target and the actor (whose row the audit entry's
 * foreign key reads). Two concurrent demotions (or a demotion and a disable)
 * of the last two SUPER_ADMINs therefore run one after the other, and the
 * second sees the first's result. One statement matters: PostgreSQL keeps
 * the lock on a row it re-checked and skipped (a SUPER_ADMIN demoted while
 * we waited), so a second locking statement could take rows out of order and
 * deadlock with a concurrent change.
 */
async function lockForChange(tx: Db, id: string, actorId: string) {
  const rows = await tx
    .select()
    .from(users)
    .where(or(eq(users.role, "SUPER_ADMIN"), inArray(users.id, [id, actorId])))
    .orderBy(asc(users.id))
    .for("update");
  const target = rows.find((r) => r.id === id);
  if (!target) throw userNotFound();
  const superAdmins = rows.filter((r) => r.role === "SUPER_ADMIN");
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

/** Updates the target row and writes its audit row, in the caller's transaction. */
async function writeChange(
  tx: Db,
  change: {
    actor: UserActor;
    target: UserRow;
    set: Partial<Pick<UserRow, "role" | "disabledAt">>;
    action: string;
    metadata: Record<string, unknown>;
    now: Date;
  },
) {
  const [updated] = await tx
    .update(users)
    .set({ ...change.set, updatedAt: change.now })
    .where(eq(users.id, change.target.id))
    .returning();
  await recordAudit(tx, {
    actor: change.actor,
    action: change.action,
    resourceType: "user",
    resourceId: change.target.id,
    ownerId: change.target.id,
    metadata: change.metadata,
    at: change.now,
  });
  return userDto(updated!);
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
  input: {
    actor: UserActor;
    userId: string;
    role: UserRole;
    /** The request's If-Match tags: applies only to that version of the user (412 otherwise). */
    ifMatch?: string[];
  },
): Promise<RoleChange> {
  return ctx.db.transaction(async (tx) => {
    const { target, superAdmins, othersActive } = await lockForChange(
      tx,
      input.userId,
      input.actor.id,
    );
    const caller = superAdmins.find((s) => s.id === input.actor.id);
    if (!caller || caller.disabledAt) {
      throw new AppError("FORBIDDEN", { detail: "Only a SUPER_ADMIN may change roles." });
    }
    // On the locked row, so no other change slips in between.
    checkIfMatch(input.ifMatch, versionTag(target));
    if (target.role === input.role) {
      return { user: userDto(target), previousRole: target.role, changed: false };
    }
    if (target.role === "SUPER_ADMIN" && othersActive === 0) {
      throw new AppError("CONFLICT", {
        detail: "This is the last active SUPER_ADMIN; promote another user first.",
      });
    }
    const now = ctx.now();
    const user = await writeChange(tx, {
      actor: input.actor,
      target,
      set: { role: input.role },
      action: "user.role_changed",
      metadata: { from: target.role, to: input.role },
      now,
    });
    await endSessions(ctx, tx, target.id, now);
    return { user, previousRole: target.role, changed: true };
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
export function disableUser(
  ctx: AdminContext,
  input: { actor: UserActor; userId: string; reason?: string | undefined },
): Promise<AccountChange> {
  return setAccess(ctx, input, true);
}

/** Lets a disabled user sign in again (their old tokens stay revoked). */
export function enableUser(
  ctx: AdminContext,
  input: { actor: UserActor; userId: string },
): Promise<AccountChange> {
  return setAccess(ctx, input, false);
}

const ENABLE_NOTE = "The user may sign in again; nothing else changes.";

async function setAccess(
  ctx: AdminContext,
  input: { actor: UserActor; userId: string; reason?: string | undefined },
  disable: boolean,
): Promise<AccountChange> {
  const note = disable ? DISABLE_NOTE : ENABLE_NOTE;
  return ctx.db.transaction(async (tx) => {
    const { target, othersActive } = await lockForChange(tx, input.userId, input.actor.id);
    refuseAccountChange(input.actor, target, disable ? "disable" : "enable");
    const held = await holdings(tx, target.id);
    if (!!target.disabledAt === disable) {
      return { user: userDto(target), changed: false, ...held, note };
    }
    if (disable && target.role === "SUPER_ADMIN" && othersActive === 0) {
      throw new AppError("CONFLICT", { detail: "This is the last active SUPER_ADMIN." });
    }
    const now = ctx.now();
    const user = await writeChange(tx, {
      actor: input.actor,
      target,
      set: { disabledAt: disable ? now : null },
      action: disable ? "user.disabled" : "user.enabled",
      metadata: disable
        ? { reason: input.reason ?? null, ...held }
        : { disabledAt: target.disabledAt?.toISOString() ?? null },
      now,
    });
    if (disable) await endSessions(ctx, tx, target.id, now);
    return { user, changed: true, ...held, note };
  });
}
