import type { BillingPeriod, CatalogWorkload, serviceCatalog } from "@minispod/db";

type ServiceRow = typeof serviceCatalog.$inferSelect;

/** A catalog entry as clients see it. */
export interface ServiceDto {
  id: string;
  slug: string;
  name: string;
  description: string;
  image: string;
  imageTag: string;
  port: number;
  /** Admins only: operator configuration that customers have no use for. */
  defaultEnv?: Record<string, string>;
  /** Admins only: how the provisioner runs the container. */
  workload?: CatalogWorkload;
  resources: {
    cpu: string;
    memory: string;
    storage: string | null;
    storageMountPath: string | null;
  };
  price: { amountMinor: number; currency: string; period: BillingPeriod };
  active: boolean;
  allowMultiple: boolean;
  scaleToZero: boolean;
  retiredAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Row -> response. `defaultEnv` and `workload` are left out unless `withEnv`: it is not meant
 * to hold secrets, but an admin's slip should not publish one to the internet.
 */
export function toServiceDto(row: ServiceRow, withEnv = false): ServiceDto {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    description: row.description,
    image: row.image,
    imageTag: row.imageTag,
    port: row.port,
    ...(withEnv ? { defaultEnv: row.defaultEnv, workload: row.workload } : {}),
    resources: {
      cpu: row.cpu,
      memory: row.memory,
      storage: row.storage,
      storageMountPath: row.storageMountPath,
    },
    price: { amountMinor: row.priceMinor, currency: row.currency, period: row.period },
    active: row.active,
    allowMultiple: row.allowMultiple,
    scaleToZero: row.scaleToZero,
    retiredAt: row.retiredAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
