import {
  credentialsOf,
  loadRecord,
  readCredentials,
  rotateCredential as rotateStored,
} from "@minispod/instances";
import { AppError, enqueueEvent, recordAudit } from "@minispod/shared";
import type { Actor, InstancesContext } from "./context";
import { instanceNotFound, reachableInstance } from "./read";

/**
 * Only the owner may see or rotate the app's credentials: an administrator
 * can act on the instance, but its admin password is the customer's alone.
 */
async function ownedRecord(ctx: InstancesContext, actor: Actor, id: string) {
  const row = await reachableInstance(ctx, actor, id);
  if (row.userId !== actor.id) {
    throw new AppError("FORBIDDEN", {
      detail: "Only the instance's owner can see or rotate its credentials.",
    });
  }
  if (row.status === "DELETING" || row.status === "DELETED") {
    throw new AppError("CONFLICT", {
      detail: "The instance is deleted, and its credentials with it.",
    });
  }
  const record = await loadRecord(ctx.db, { instanceId: id });
  if (!record) throw instanceNotFound();
  return record;
}

const where = (base: string, path: string | undefined) =>
  path ? new URL(path, base.endsWith("/") ? base : `${base}/`).toString() : base;

/**
 * The app's credentials as the catalog hands them out. A value is null until
 * the provisioner first applies the instance (or for an instance created
 * before credentials were stored, until one is rotated). Audited.
 */
export async function showCredentials({
  ctx,
  input,
}: {
  ctx: InstancesContext;
  input: { actor: Actor; id: string };
}) {
  const record = await ownedRecord(ctx, input.actor, input.id);
  const stored = new Map(
    (await readCredentials(ctx.db, ctx.keyring, record.instance.id)).map((c) => [c.name, c]),
  );
  const placed = record.instance.status !== "PENDING";
  const credentials = credentialsOf(record.service).map((c) => {
    const value = stored.get(c.secret);
    return {
      name: c.secret,
      label: c.label,
      username: c.username ?? null,
      value: value?.value ?? null,
      url: placed ? where(record.instance.url, c.path) : null,
      version: value?.version ?? null,
      updatedAt: value?.updatedAt.toISOString() ?? null,
    };
  });
  await recordAudit(ctx.db, {
    actor: input.actor,
    action: "instance.credentials_read",
    resourceType: "instance",
    resourceId: record.instance.id,
    ownerId: record.subscription.userId,
    // Which ones were shown, never their values.
    metadata: { names: credentials.filter((c) => c.value !== null).map((c) => c.name) },
    at: ctx.now(),
  });
  return { instanceId: record.instance.id, credentials };
}

/**
 * Regenerates one credential: stored sealed, audited, announced
 * (`instance.credentials_rotated`, which the provisioner writes into the
 * workload's Secret before rolling it, and webhooks and email receive).
 * The old value stops working once the app restarts.
 */
export async function rotateCredential({
  ctx,
  input,
}: {
  ctx: InstancesContext;
  input: { actor: Actor; id: string; name: string };
}) {
  const record = await ownedRecord(ctx, input.actor, input.id);
  if (!credentialsOf(record.service).some((c) => c.secret === input.name)) {
    throw new AppError("UNPROCESSABLE", {
      detail: `${record.service.name} has no credential named ${input.name}.`,
      fields: [{ field: "name", message: "is not one of the app's credentials" }],
    });
  }
  const at = ctx.now();
  const version = await ctx.db.transaction(async (tx) => {
    // Under the instance's row lock, so two rotations are numbered one after the other.
    const locked = await loadRecord(tx, { instanceId: record.instance.id }, { lock: true });
    if (!locked) throw instanceNotFound();
    const rotated = await rotateStored(tx, ctx.keyring, locked.instance.id, input.name, at);
    await recordAudit(tx, {
      actor: input.actor,
      action: "instance.credentials_rotated",
      resourceType: "instance",
      resourceId: locked.instance.id,
      ownerId: locked.subscription.userId,
      metadata: { name: input.name, version: rotated.version },
      at,
    });
    await enqueueEvent(tx, {
      type: "instance.credentials_rotated",
      source: ctx.source,
      subject: locked.instance.id,
      data: {
        userId: locked.subscription.userId,
        instanceId: locked.instance.id,
        subscriptionId: locked.subscription.id,
        serviceName: locked.service.name,
        name: input.name,
        version: rotated.version,
      },
    });
    return rotated.version;
  });
  return { instanceId: record.instance.id, name: input.name, version, rotatedAt: at.toISOString() };
}
