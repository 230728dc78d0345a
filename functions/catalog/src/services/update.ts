import { type Db, serviceCatalog } from "@minispod/db";
import { type Actor, AppError, checkIfMatch, recordAudit, versionTag } from "@minispod/shared";
import { eq } from "drizzle-orm";
import { STORAGE_RULE_MESSAGE, storageRule, type UpdateServiceInput } from "../schemas";
import type { ServiceRow } from "./read";
import { rejectWorkloadProblem } from "./write";

type ServiceValues = Omit<
  ServiceRow,
  "id" | "slug" | "active" | "retiredAt" | "createdAt" | "updatedAt"
>;

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
    workload: input.workload ?? row.workload,
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
  workload: "workload",
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
  ifMatch,
}: {
  db: Db;
  slug: string;
  input: UpdateServiceInput;
  actor: Actor;
  now: Date;
  /** The request's If-Match tags: the update applies only to that version (412 otherwise). */
  ifMatch?: string[];
}): Promise<ServiceRow> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(serviceCatalog)
      .where(eq(serviceCatalog.slug, slug))
      .for("update");
    if (!row) throw new AppError("NOT_FOUND", { detail: `No service with slug "${slug}".` });
    // Checked on the locked row, so no other update can slip in between.
    checkIfMatch(ifMatch, versionTag(row));
    const next = merge(row, input);
    if (!storageRule(next)) {
      throw new AppError("VALIDATION_FAILED", {
        detail: "The request body has an invalid field: resources.storageMountPath.",
        fields: [{ field: "resources.storageMountPath", message: STORAGE_RULE_MESSAGE }],
      });
    }
    rejectWorkloadProblem(next.workload, next.defaultEnv);
    const diff = changes(row, next);
    if (Object.keys(diff).length === 0) return row;
    const [updated] = await tx
      .update(serviceCatalog)
      .set({ ...next, updatedAt: now })
      .where(eq(serviceCatalog.id, row.id))
      .returning();
    await recordAudit(tx, {
      actor,
      resourceType: "service",
      action: "service.updated",
      resourceId: row.id,
      ownerId: null,
      metadata: { slug, changes: diff },
    });
    return updated!;
  });
}
