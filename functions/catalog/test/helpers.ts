import type { AppEnv } from "@minispod/shared";
import { createHarness, type Harness, json, type TestUser } from "@minispod/shared/testing";
import type { Hono } from "hono";
import { catalogFunction } from "../src/function";

/** A valid create body; override fields per test. */
export function serviceBody(overrides: Record<string, unknown> = {}) {
  return {
    slug: `app-${Math.random().toString(36).slice(2, 10)}`,
    name: "Test App",
    description: "An app for tests.",
    image: "ghcr.io/example/app",
    imageTag: "1.2.3",
    port: 8080,
    defaultEnv: { APP_MODE: "production" },
    resources: { cpu: "250m", memory: "256Mi", storage: "1Gi", storageMountPath: "/data" },
    price: { amountMinor: 499, currency: "EUR", period: "MONTHLY" },
    allowMultiple: false,
    scaleToZero: false,
    ...overrides,
  };
}

export interface CatalogTest {
  h: Harness;
  app: Hono<AppEnv>;
  admin: TestUser;
  customer: TestUser;
  /** Creates an entry through the API as the admin and returns the response body. */
  create(overrides?: Record<string, unknown>): Promise<ServiceBody>;
}

export interface ServiceBody {
  id: string;
  slug: string;
  name: string;
  active: boolean;
  retiredAt: string | null;
  defaultEnv?: Record<string, string>;
  resources: {
    cpu: string;
    memory: string;
    storage: string | null;
    storageMountPath: string | null;
  };
  price: { amountMinor: number; currency: string; period: string };
  [key: string]: unknown;
}

export async function setupCatalog(): Promise<CatalogTest> {
  const h = await createHarness();
  const app = await h.app(catalogFunction);
  const admin = await h.user({ role: "ADMIN" });
  const customer = await h.user();
  return {
    h,
    app,
    admin,
    customer,
    async create(overrides) {
      const res = await app.request(
        "/api/v1/services",
        json(serviceBody(overrides), h.bearer(admin)),
      );
      if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
      return (await res.json()) as ServiceBody;
    },
  };
}
