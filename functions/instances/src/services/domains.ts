import { isClusterError } from "@minispod/cluster";
import { instanceDomains } from "@minispod/db";
import {
  checkOwnership,
  convergeDomains,
  type DomainRow,
  domainDto,
  domainEventData,
  newChallengeToken,
  normalizeDomain,
  recordOwnershipCheck,
  TAKEN_REASON,
} from "@minispod/instances";
import { AppError, enqueueEvent, recordAudit } from "@minispod/shared";
import { and, count, desc, eq, isNotNull, ne } from "drizzle-orm";
import type { Actor, InstancesContext } from "./context";
import { reachableInstance } from "./read";

const domainNotFound = () =>
  new AppError("NOT_FOUND", { detail: "No custom domain with this id on this instance." });

/** Custom domains are the owner's: admins see them in the admin views, not here. */
async function ownedInstance(ctx: InstancesContext, actor: Actor, id: string) {
  const row = await reachableInstance(ctx, actor, id);
  if (row.userId !== actor.id) {
    throw new AppError("FORBIDDEN", {
      detail: "Only the instance's owner can manage its custom domains.",
    });
  }
  return row;
}

async function loadDomain(ctx: InstancesContext, instanceId: string, domainId: string) {
  const [row] = await ctx.db
    .select()
    .from(instanceDomains)
    .where(and(eq(instanceDomains.id, domainId), eq(instanceDomains.instanceId, instanceId)));
  if (!row) throw domainNotFound();
  return row;
}

const hostOf = (url: string) => new URL(url).host;

/** The instance's custom domains, newest first (at most DOMAINS_PER_INSTANCE, so no pages). */
export async function listDomains({
  ctx,
  input,
}: {
  ctx: InstancesContext;
  input: { actor: Actor; id: string };
}) {
  const instance = await ownedInstance(ctx, input.actor, input.id);
  const rows = await ctx.db
    .select()
    .from(instanceDomains)
    .where(eq(instanceDomains.instanceId, instance.id))
    .orderBy(desc(instanceDomains.createdAt), desc(instanceDomains.id));
  return { items: rows.map((r) => domainDto(r, hostOf(instance.url))), nextCursor: null };
}

/**
 * Claims a domain for the instance: PENDING_VERIFICATION with a fresh token
 * the customer puts in a TXT record. Audited; `domain.added`. (A retry is
 * safe with an Idempotency-Key; without one, the same domain again is a 409.)
 */
export async function addDomain({
  ctx,
  input,
}: {
  ctx: InstancesContext;
  input: { actor: Actor; id: string; domain: string };
}) {
  const instance = await ownedInstance(ctx, input.actor, input.id);
  if (instance.status === "DELETING" || instance.status === "DELETED") {
    throw new AppError("CONFLICT", {
      detail: "The instance is deleted: it can't take a custom domain.",
    });
  }
  const checked = normalizeDomain(input.domain, ctx.domains.platformDomain);
  if (!checked.ok) {
    throw new AppError("UNPROCESSABLE", {
      detail: `The domain ${checked.message}.`,
      fields: [{ field: "domain", message: checked.message }],
    });
  }
  const { domain } = checked;
  const host = hostOf(instance.url);
  const at = ctx.now();
  return ctx.db.transaction(async (tx) => {
    const [existing] = await tx
      .select()
      .from(instanceDomains)
      .where(and(eq(instanceDomains.instanceId, instance.id), eq(instanceDomains.domain, domain)));
    if (existing) {
      throw new AppError("CONFLICT", {
        detail: `${domain} is already a custom domain of this instance.`,
      });
    }
    const [taken] = await tx
      .select({ id: instanceDomains.id })
      .from(instanceDomains)
      .where(
        and(
          eq(instanceDomains.domain, domain),
          isNotNull(instanceDomains.verifiedAt),
          ne(instanceDomains.userId, instance.userId),
        ),
      );
    if (taken) {
      throw new AppError("CONFLICT", {
        detail: `${domain} is already in use: ${TAKEN_REASON}.`,
      });
    }
    const [held] = await tx
      .select({ n: count() })
      .from(instanceDomains)
      .where(eq(instanceDomains.instanceId, instance.id));
    if ((held?.n ?? 0) >= ctx.domains.perInstance) {
      throw new AppError("CONFLICT", {
        detail: `This instance already has ${held?.n} custom domains, the most it may have (${ctx.domains.perInstance}). Remove one first.`,
      });
    }
    const [row] = await tx
      .insert(instanceDomains)
      .values({
        instanceId: instance.id,
        userId: instance.userId,
        domain,
        token: newChallengeToken(),
        state: "PENDING_VERIFICATION",
        reason: "waiting for the TXT record",
        stateChangedAt: at,
        createdAt: at,
      })
      .onConflictDoNothing()
      .returning();
    if (!row) {
      throw new AppError("CONFLICT", {
        detail: `${domain} was just added to this instance by another request.`,
      });
    }
    await recordAudit(tx, {
      actor: input.actor,
      action: "domain.added",
      resourceType: "instance",
      resourceId: instance.id,
      ownerId: instance.userId,
      metadata: { domainId: row.id, domain },
      at,
    });
    await enqueueEvent(tx, {
      type: "domain.added",
      source: ctx.source,
      subject: row.id,
      data: domainEventData(row),
    });
    return domainDto(row, host);
  });
}

export async function showDomain({
  ctx,
  input,
}: {
  ctx: InstancesContext;
  input: { actor: Actor; id: string; domainId: string };
}) {
  const instance = await ownedInstance(ctx, input.actor, input.id);
  return domainDto(await loadDomain(ctx, instance.id, input.domainId), hostOf(instance.url));
}

/**
 * "Check now": an unverified claim has its TXT record looked up (verified ->
 * ISSUING, the provisioner routes it); a verified one has its certificate
 * read back from the cluster. Another account having verified the name
 * first is a 409, recorded on the claim too. Audited.
 */
export async function verifyDomain({
  ctx,
  input,
}: {
  ctx: InstancesContext;
  input: { actor: Actor; id: string; domainId: string };
}) {
  const instance = await ownedInstance(ctx, input.actor, input.id);
  let row: DomainRow = await loadDomain(ctx, instance.id, input.domainId);
  const options = { now: ctx.now(), source: ctx.source };
  if (row.verifiedAt === null) {
    const check = await checkOwnership(ctx.domains.resolver, row.domain, row.token);
    const result = await recordOwnershipCheck(ctx.db, row, check, options);
    row = result.row;
    await recordAudit(ctx.db, {
      actor: input.actor,
      action: "domain.verify",
      resourceType: "instance",
      resourceId: instance.id,
      ownerId: instance.userId,
      metadata: {
        domainId: row.id,
        domain: row.domain,
        outcome: result.taken ? "taken" : check.outcome,
      },
      at: options.now,
    });
    if (result.taken) {
      throw new AppError("CONFLICT", {
        detail: `${row.domain} is already in use: ${TAKEN_REASON}.`,
      });
    }
  } else {
    try {
      await convergeDomains(ctx.db, ctx.cluster, instance.id, {
        ...options,
        issueTimeoutMs: ctx.domains.issueTimeoutMs,
        readOnly: true,
      });
    } catch (error) {
      if (!isClusterError(error)) throw error;
      ctx.logger.warn({ err: error, instanceId: instance.id }, "domain status unavailable");
    }
    row = await loadDomain(ctx, instance.id, row.id);
  }
  return domainDto(row, hostOf(instance.url));
}

/** Removes the claim; the provisioner removes its route, certificate and TLS secret (`domain.removed`). */
export async function removeDomain({
  ctx,
  input,
}: {
  ctx: InstancesContext;
  input: { actor: Actor; id: string; domainId: string };
}) {
  const instance = await ownedInstance(ctx, input.actor, input.id);
  const at = ctx.now();
  await ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .delete(instanceDomains)
      .where(
        and(eq(instanceDomains.id, input.domainId), eq(instanceDomains.instanceId, instance.id)),
      )
      .returning();
    if (!row) throw domainNotFound();
    await recordAudit(tx, {
      actor: input.actor,
      action: "domain.removed",
      resourceType: "instance",
      resourceId: instance.id,
      ownerId: instance.userId,
      metadata: { domainId: row.id, domain: row.domain },
      at,
    });
    await enqueueEvent(tx, {
      type: "domain.removed",
      source: ctx.source,
      subject: row.id,
      data: { ...domainEventData(row), reason: "removed by its owner" },
    });
  });
}
