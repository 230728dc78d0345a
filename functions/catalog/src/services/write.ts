import { type Db, serviceCatalog } from "@minispod/db";
import { type Actor, AppError, recordAudit } from "@minispod/shared";
import { and, eq, isNull } from "drizzle-orm";
import { type CreateServiceInput, type WorkloadInput, workloadProblem } from "../schemas";
import { getServiceBySlug, type ServiceRow } from "./read";

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
    workload: input.workload,
  };
}

/** 422 VALIDATION_FAILED naming the field when the workload breaks a rule that spans fields. */
export function rejectWorkloadProblem(w: WorkloadInput, defaultEnv: Record<string, string>): void {
  const problem = workloadProblem(w, defaultEnv);
  if (problem) {
    throw new AppError("VALIDATION_FAILED", {
      detail: `The request body has an invalid field: ${problem.field}.`,
      fields: [problem],
    });
  }
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
  rejectWorkloadProblem(input.workload, input.defaultEnv);
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
    await recordAudit(tx, {
      actor,
      resourceType: "service",
      action: "service.created",
      resourceId: row.id,
      ownerId: null,
      metadata: { slug: row.slug },
    });
    return row;
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
    await recordAudit(tx, {
      actor,
      resourceType: "service",
      action: "service.retired",
      resourceId: row.id,
      ownerId: null,
      metadata: { slug },
    });
    return row;
  });
}
