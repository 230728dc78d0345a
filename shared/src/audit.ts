import { auditLog, type Db, type UserRole } from "@minispod/db";
import type { Context } from "hono";
import type { AppEnv } from "./app-env";
import { isAdmin } from "./auth";
import { AppError } from "./errors";
import { clientIp } from "./rate-limit";

/** Facts about the request an actor acted through, when there was one. */
interface RequestFacts {
  requestId?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
}

/** A signed-in user acting (customer or admin). */
export type UserActor = { id: string; role: UserRole } & RequestFacts;

/** The platform itself: sweeps, provider callbacks, event consumers. */
export type SystemActor = { id: null; role: "SYSTEM" } & RequestFacts;

/**
 * Who acts, for authorisation and for the audit log: one type for every
 * function, so the audit trail reads the same whoever wrote it.
 */
export type Actor = UserActor | SystemActor;

export const systemActor: SystemActor = { id: null, role: "SYSTEM" };

/**
 * The signed-in caller of a request (after `requireAuth`) as an actor.
 *
 * @example
 * await updateService({ db, input: { slug, patch, actor: actorOf(c) } });
 */
export function actorOf(c: Context<AppEnv>): UserActor {
  const auth = c.get("auth");
  return {
    id: auth.userId,
    role: auth.role,
    requestId: c.get("requestId"),
    ip: clientIp(c),
    // Bounded: the header is the client's to fill, the audit row is ours to keep.
    userAgent: c.req.header("user-agent")?.slice(0, 512),
  };
}

/** Customers reach only their own things; admins and the platform reach all. */
export function canReach(actor: Actor, ownerId: string): boolean {
  return actor.role === "SYSTEM" || isAdmin(actor.role) || actor.id === ownerId;
}

/**
 * Whose things a list shows: customers their own (naming another user is 403),
 * admins and the platform everyone's, or the one user they name.
 *
 * @example
 * const owner = listOwner(actor, input.userId, "invoices"); // undefined = everyone's
 */
export function listOwner(actor: Actor, userId: string | undefined, what: string) {
  const seesAll = actor.role === "SYSTEM" || isAdmin(actor.role);
  if (userId && !seesAll && userId !== actor.id) {
    throw new AppError("FORBIDDEN", { detail: `Only admins may list another user's ${what}.` });
  }
  return seesAll ? userId : (actor.id ?? undefined);
}

export interface AuditEntry {
  actor: Actor;
  /** `<entity>.<verb>`, e.g. "subscription.cancelled". */
  action: string;
  /** e.g. "subscription", "service", "webhook_endpoint", "user". */
  resourceType: string;
  resourceId: string;
  /**
   * The customer whose thing this is (their account, subscription, invoice,
   * instance, webhook endpoint): it shows in their audit trail whoever acted.
   * `null` for the platform's own things (catalog, dead letters). Left out, a
   * CUSTOMER actor owns what they did and any other actor owns nothing.
   */
  ownerId?: string | null | undefined;
  /** Never a secret. */
  metadata?: Record<string, unknown> | undefined;
  /** When it happened; the injected clock in services, the database's clock otherwise. */
  at?: Date | undefined;
}

/** Whose thing an entry concerns: as given, else a customer's own action is theirs. */
function ownerOf(entry: AuditEntry): string | null {
  if (entry.ownerId !== undefined) return entry.ownerId;
  return entry.actor.role === "CUSTOMER" ? entry.actor.id : null;
}

/**
 * Writes one audit row. Call it inside the transaction of the change it
 * records, so the row exists if and only if the change commits.
 *
 * @example
 * await recordAudit(tx, {
 *   actor,
 *   action: "subscription.cancelled",
 *   resourceType: "subscription",
 *   resourceId: subscription.id,
 *   ownerId: subscription.userId,
 * });
 */
export async function recordAudit(tx: Db, entry: AuditEntry): Promise<void> {
  await recordAudits(tx, [entry]);
}

/**
 * Writes many audit rows in one INSERT, for set-based sweeps that change a
 * batch of rows in one statement.
 */
export async function recordAudits(tx: Db, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await tx.insert(auditLog).values(
    entries.map((entry) => ({
      actorId: entry.actor.id,
      actorRole: entry.actor.role,
      ownerId: ownerOf(entry),
      action: entry.action,
      resourceType: entry.resourceType,
      resourceId: entry.resourceId,
      metadata: entry.metadata ?? {},
      ip: entry.actor.ip ?? null,
      userAgent: entry.actor.userAgent ?? null,
      requestId: entry.actor.requestId ?? null,
      ...(entry.at ? { createdAt: entry.at } : {}),
    })),
  );
}
