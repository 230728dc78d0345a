import { type Db, serviceCatalog } from "@minispod/db";
import { AppError } from "@minispod/shared";
import { and, eq, isNull } from "drizzle-orm";
import {
  type CreateServiceInput,
  STORAGE_RULE_MESSAGE,
  storageRule,
  type UpdateServiceInput,
} from "../schemas";
import { type Actor, audit } from "./audit";
import { getServiceBySlug, type ServiceRow } from "./read";

type ServiceValues = Omit<
  ServiceRow,
  "id" | "slug" | "active" | "retiredAt" | "createdAt" | "updatedAt"
>;

/** Validated create input -> row values (shared with the demo seed). */
export function insertValues(input: CreateServiceInput): typeof serviceCatalog.$inferInsert {
  return {
    slug: input.slug,
    name: input.name,
    description: input.description,
    image: input.image,
    imageTag: input.imageTag,
    port: input.port,
    defaultEnv: input.defaultEnv,
    cpu: input.resources.cpu,
    memory: input.resources.memory,
    storage: input.resources.storage ?? null,
    storageMountPath: input.resources.storageMountPath ?? null,
    priceMinor: input.price.amountMinor,
    currency: input.price.currency,
    period: input.price.period,
    allowMultiple: input.allowMultiple,
    scaleToZero: input.scaleToZero,
  };
}

/**
 * Adds a catalog entry and its audit row in one transaction.
 * 409 CONFLICT when the slug is taken (retired entries keep their slug).
 */
export async function createService({
  db,
  input,
  actor,
}: {
  db: Db;
  input: CreateServiceInput;
  actor: Actor;
}): Promise<ServiceRow> {
  return db.transaction(async (tx) => {
    // ON CONFLICT DO NOTHING rather than catching 23505: a failed statement would abort the transaction.
    const [row] = await tx
      .insert(serviceCatalog)
      .values(insertValues(input))
      .onConflictDoNothing({ target: serviceCatalog.slug })
      .returning();
    if (!row) {
      throw new AppError("CONFLICT", {
        detail: `A service with slug "${input.slug}" already exists.`,
        fields: [{ field: "slug", message: "is already taken" }],
      });
    }
    await audit(tx, actor, {
      action: "service.created",
      resourceId: row.id,
      metadata: { slug: row.slug },
    });
    return row;
  });
}

/** The request's partial fields laid over the stored row. */
function merge(row: ServiceRow, input: UpdateServiceInput): ServiceValues {
  const r = input.resources ?? {};
  const p = input.price ?? {};
  return {
    name: input.name ?? row.name,
    description: input.description ?? row.description,
    image: input.image ?? row.image,
    imageTag: input.imageTag ?? row.imageTag,
    port: input.port ?? row.port,
    defaultEnv: input.defaultEnv ?? row.defaultEnv,
    cpu: r.cpu ?? row.cpu,
    memory: r.memory ?? row.memory,
    // null removes the volume, undefined keeps it.
    storage: r.storage === undefined ? row.storage : r.storage,
    storageMountPath: r.storageMountPath === undefined ? row.storageMountPath : r.storageMountPath,
    priceMinor: p.amountMinor ?? row.priceMinor,
    currency: p.currency ?? row.currency,
    period: p.period ?? row.period,
    allowMultiple: input.allowMultiple ?? row.allowMultiple,
    scaleToZero: input.scaleToZero ?? row.scaleToZero,
  };
}

/** Response-style field names, so the audit log reads like the API. */
const FIELD_NAMES: Record<keyof ServiceValues, string> = {
  name: "name",
  description: "description",
  image: "image",
  imageTag: "imageTag",
  port: "port",
  defaultEnv: "defaultEnv",
  cpu: "resources.cpu",
  memory: "resources.memory",
  storage: "resources.storage",
  storageMountPath: "resources.storageMountPath",
  priceMinor: "price.amountMinor",
  currency: "price.currency",
  period: "price.period",
  allowMultiple: "allowMultiple",
  scaleToZero: "scaleToZero",
};

function changes(before: ServiceRow, after: ServiceValues) {
  const diff: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of Object.keys(FIELD_NAMES) as (keyof ServiceValues)[]) {
    if (stable(before[key]) !== stable(after[key])) {
      diff[FIELD_NAMES[key]] = { from: before[key], to: after[key] };
    }
  }
  return diff;
}

/** JSON with sorted keys, so reordered env maps compare equal. */
function stable(value: unknown): string {
  if (value && typeof value === "object") {
    return JSON.stringify(
      Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b))),
    );
  }
  return JSON.stringify(value ?? null);
}

/**
 * Changes some fields of an entry (retired ones too: an image fix must still
 * reach existing subscribers). A request that changes nothing writes nothing.
 */
export async function updateService({
  db,
  slug,
  input,
  actor,
  now,
}: {
  db: Db;
  slug: string;
  input: UpdateServiceInput;
  actor: Actor;
  now: Date;
}): Promise<ServiceRow> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(serviceCatalog)
      .where(eq(serviceCatalog.slug, slug))
      .for("update");
    if (!row) throw new AppError("NOT_FOUND", { detail: `No service with slug "${slug}".` });
    const next = merge(row, input);
    if (!storageRule(next)) {
      throw new AppError("VALIDATION_FAILED", {
        detail: "The request body has an invalid field: resources.storageMountPath.",
        fields: [{ field: "resources.storageMountPath", message: STORAGE_RULE_MESSAGE }],
      });
    }
    const diff = changes(row, next);
    if (Object.keys(diff).length === 0) return row;
    const [updated] = await tx
      .update(serviceCatalog)
      .set({ ...next, updatedAt: now })
      .where(eq(serviceCatalog.id, row.id))
      .returning();
    await audit(tx, actor, {
      action: "service.updated",
      resourceId: row.id,
      metadata: { slug, changes: diff },
    });
    return updated!;
  });
}

/**
 * Retires an entry: no new subscriptions (subscriptions checks `active`),
 * existing ones keep it. Retiring twice answers the entry as it is.
 */
export async function retireService({
  db,
  slug,
  actor,
  now,
}: {
  db: Db;
  slug: string;
  actor: Actor;
  now: Date;
}): Promise<ServiceRow> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(serviceCatalog)
      .set({ active: false, retiredAt: now, updatedAt: now })
      .where(and(eq(serviceCatalog.slug, slug), isNull(serviceCatalog.retiredAt)))
      .returning();
    if (!row) return getServiceBySlug({ db: tx, slug });
    await audit(tx, actor, { action: "service.retired", resourceId: row.id, metadata: { slug } });
    return row;
  });
}
