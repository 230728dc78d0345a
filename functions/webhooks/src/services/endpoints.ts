import { type Db, users, webhookEndpoints } from "@minispod/db";
import { AppError, type AuthClaims, isAdmin, recordAudit, type UserActor } from "@minispod/shared";
import { type EndpointRow, generateWebhookSecret } from "@minispod/webhooks";
import { and, count, eq, sql } from "drizzle-orm";
import type { CreateInput, UpdateInput } from "./schemas";

/** The public shape of an endpoint: never a secret. */
export function toEndpointDto(row: EndpointRow) {
  return {
    id: row.id,
    userId: row.userId,
    url: row.url,
    events: row.eventTypes,
    description: row.description,
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    disabledAt: row.disabledAt?.toISOString() ?? null,
    failingSince: row.failingSince?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/**
 * Loads an endpoint the caller may see: their own, or any for an admin when
 * only reading. Everything else is 404, so ids leak nothing.
 */
export async function loadEndpoint(
  db: Db,
  id: string,
  claims: AuthClaims,
  access: "read" | "write",
): Promise<EndpointRow> {
  const ownerOnly = access === "write" || !isAdmin(claims.role);
  const [row] = await db
    .select()
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.id, id),
        ownerOnly ? eq(webhookEndpoints.userId, claims.userId) : undefined,
      ),
    );
  if (!row) throw new AppError("NOT_FOUND", { detail: "No webhook endpoint with this id." });
  return row;
}

export async function createEndpoint(input: {
  db: Db;
  actor: UserActor;
  data: CreateInput;
  maxEndpoints: number;
  now: Date;
}): Promise<EndpointRow> {
  const { actor, data, now } = input;
  return input.db.transaction(async (tx) => {
    // Serialises creates per user, so the limit holds under concurrent requests.
    await tx.select({ id: users.id }).from(users).where(eq(users.id, actor.id)).for("update");
    const [existing] = await tx
      .select({ n: count() })
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.userId, actor.id));
    if ((existing?.n ?? 0) >= input.maxEndpoints) {
      throw new AppError("CONFLICT", {
        detail: `You already have ${input.maxEndpoints} webhook endpoints, the most allowed; delete one first.`,
      });
    }
    const [row] = await tx
      .insert(webhookEndpoints)
      .values({
        userId: actor.id,
        url: data.url,
        eventTypes: data.events,
        description: data.description ?? "",
        secret: generateWebhookSecret(),
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    await recordAudit(tx, {
      actor: actor,
      action: "webhook.created",
      resourceType: "webhook_endpoint",
      resourceId: row!.id,
      ownerId: row!.userId,
      metadata: { url: row!.url, events: row!.eventTypes },
      at: now,
    });
    return row!;
  });
}

export async function updateEndpoint(input: {
  db: Db;
  actor: UserActor;
  endpoint: EndpointRow;
  data: UpdateInput;
  now: Date;
}): Promise<EndpointRow> {
  const { actor, endpoint, data, now } = input;
  const changes: Partial<typeof webhookEndpoints.$inferInsert> = {};
  if (data.url !== undefined) changes.url = data.url;
  if (data.events !== undefined) changes.eventTypes = data.events;
  if (data.description !== undefined) changes.description = data.description;
  if (data.enabled === true && !endpoint.enabled) {
    // A fresh start: the failure history that disabled it no longer counts.
    Object.assign(changes, {
      enabled: true,
      disabledReason: null,
      disabledAt: null,
      failingSince: null,
    });
  } else if (data.enabled === false && endpoint.enabled) {
    Object.assign(changes, {
      enabled: false,
      disabledReason: "Disabled by its owner.",
      disabledAt: now,
    });
  }
  if (Object.keys(changes).length === 0) return endpoint;
  return input.db.transaction(async (tx) => {
    const [row] = await tx
      .update(webhookEndpoints)
      .set(changes)
      .where(eq(webhookEndpoints.id, endpoint.id))
      .returning();
    if (!row) throw new AppError("NOT_FOUND", { detail: "No webhook endpoint with this id." });
    await recordAudit(tx, {
      actor: actor,
      action: "webhook.updated",
      resourceType: "webhook_endpoint",
      resourceId: row.id,
      ownerId: row.userId,
      metadata: { changed: Object.keys(data) },
      at: now,
    });
    return row;
  });
}

export async function deleteEndpoint(input: {
  db: Db;
  actor: UserActor;
  endpoint: EndpointRow;
  now: Date;
}) {
  const { actor, endpoint, now } = input;
  await input.db.transaction(async (tx) => {
    await tx.delete(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id));
    await recordAudit(tx, {
      actor: actor,
      action: "webhook.deleted",
      resourceType: "webhook_endpoint",
      resourceId: endpoint.id,
      ownerId: endpoint.userId,
      metadata: { url: endpoint.url },
      at: now,
    });
  });
}

/**
 * Issues a new secret; the current one becomes the previous and keeps signing
 * (both signatures on every delivery) for `overlapSeconds`. Rotating again
 * within the overlap drops the older previous secret.
 */
export async function rotateSecret(input: {
  db: Db;
  actor: UserActor;
  endpoint: EndpointRow;
  overlapSeconds: number;
  now: Date;
}): Promise<EndpointRow> {
  const { actor, endpoint, now } = input;
  return input.db.transaction(async (tx) => {
    const previousSecretExpiresAt = new Date(now.getTime() + input.overlapSeconds * 1000);
    const [row] = await tx
      .update(webhookEndpoints)
      // The right-hand side reads the row as it was, so a racing rotation cannot lose a secret.
      .set({
        secret: generateWebhookSecret(),
        previousSecret: sql`${webhookEndpoints.secret}`,
        previousSecretExpiresAt,
      })
      .where(eq(webhookEndpoints.id, endpoint.id))
      .returning();
    if (!row) throw new AppError("NOT_FOUND", { detail: "No webhook endpoint with this id." });
    await recordAudit(tx, {
      actor: actor,
      action: "webhook.secret_rotated",
      resourceType: "webhook_endpoint",
      resourceId: row.id,
      ownerId: row.userId,
      metadata: { previousSecretExpiresAt: previousSecretExpiresAt.toISOString() },
      at: now,
    });
    return row;
  });
}
