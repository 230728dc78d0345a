import {
  type BillingContext,
  billingContextOf,
  cancel,
  loadSubscriptionDetail,
  renew,
  type SubscriptionDetail,
  setAutoRenew,
  subscribe,
} from "@minispod/billing";
import {
  SANDBOX_PAYMENT_METHODS,
  type SandboxPaymentProvider,
  sandboxPaymentProvider,
} from "@minispod/billing/payments";
import { seedCatalogService } from "@minispod/billing/testing";
import { type Db, invoices, outboxEvents, payments } from "@minispod/db";
import { type AppEnv, actorOf, baseApp, requireAuth } from "@minispod/shared";
import { createHarness, type Harness, json, type TestUser } from "@minispod/shared/testing";
import { asc, eq } from "drizzle-orm";
import type { Hono } from "hono";
import { expect } from "vitest";
import { createApp } from "../src/app";
import type { BillingDeps } from "../src/deps";
import { billingFunction } from "../src/function";

export const WEBHOOK_SECRET = "whsec_test_0123456789abcdef";

export interface BillingTest {
  h: Harness;
  /** The billing app. */
  app: Hono<AppEnv>;
  /**
   * The subscription services over HTTP (same database and provider), to make
   * invoices the real way; see `subscriptionServicesApp`.
   */
  subscriptions: Hono<AppEnv>;
  deps: BillingDeps;
  ctx: BillingContext;
  provider: SandboxPaymentProvider;
  customer: TestUser;
  other: TestUser;
  admin: TestUser;
  appWithEnv(env: Partial<BillingDeps["env"]>): Hono<AppEnv>;
}

export async function setupBilling(): Promise<BillingTest> {
  const h = await createHarness();
  const provider = sandboxPaymentProvider();
  const deps: BillingDeps = {
    ...h.context(billingFunction, { PAYMENT_WEBHOOK_SECRET: WEBHOOK_SECRET }),
    provider,
  };
  return {
    h,
    app: createApp(deps),
    subscriptions: subscriptionServicesApp(deps),
    deps,
    ctx: billingContextOf(deps),
    provider,
    customer: await h.user(),
    other: await h.user(),
    admin: await h.user({ role: "ADMIN" }),
    appWithEnv: (env) => createApp({ ...deps, env: { ...deps.env, ...env } }),
  };
}

/**
 * A test-only app calling the @minispod/billing services the way the
 * subscriptions function's routes do (billing may not import that function),
 * with the kernel's error handling, so tests read statuses and problems.
 */
function subscriptionServicesApp(deps: BillingDeps): Hono<AppEnv> {
  const ctx = billingContextOf(deps);
  const app = baseApp(deps);
  app.use("/api/v1/subscriptions/*", requireAuth(deps.verifier));
  app.use("/api/v1/subscriptions", requireAuth(deps.verifier));
  const body = async (c: { req: { json(): Promise<unknown> } }) =>
    (await c.req.json().catch(() => ({}))) as Record<string, unknown>;
  const str = (value: unknown) => (typeof value === "string" ? value : undefined);
  app.post("/api/v1/subscriptions", async (c) => {
    const input = await body(c);
    const actor = actorOf(c);
    const detail = await subscribe({
      ctx,
      input: {
        userId: actor.id,
        serviceSlug: String(input.serviceSlug),
        paymentMethod: str(input.paymentMethod),
        actor,
      },
    });
    return c.json(detail, 201);
  });
  app.post("/api/v1/subscriptions/:id/renew", async (c) => {
    const input = await body(c);
    const subscriptionId = c.req.param("id");
    const detail = await renew({
      ctx,
      input: { subscriptionId, actor: actorOf(c), paymentMethod: str(input.paymentMethod) },
    });
    return c.json(detail);
  });
  app.post("/api/v1/subscriptions/:id/cancel", async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { immediately?: boolean };
    return c.json(
      await cancel({
        ctx,
        input: {
          subscriptionId: c.req.param("id"),
          actor: actorOf(c),
          immediately: body.immediately === true,
        },
      }),
    );
  });
  app.patch("/api/v1/subscriptions/:id", async (c) => {
    const input = await body(c);
    const subscriptionId = c.req.param("id");
    return c.json(
      await setAutoRenew({
        ctx,
        input: { subscriptionId, autoRenew: input.autoRenew === true, actor: actorOf(c) },
      }),
    );
  });
  app.get("/api/v1/subscriptions/:id", async (c) =>
    c.json(await loadSubscriptionDetail(ctx.db, c.req.param("id"))),
  );
  return app;
}

/** One Vaultwarden-like entry, one subscription per customer. */
export function seedService(db: Db) {
  return seedCatalogService(db, { allowMultiple: false });
}

/** POST /api/v1/subscriptions on the subscriptions app for a fresh service. */
export async function subscribeVia(
  t: BillingTest,
  user: TestUser,
  body: Record<string, unknown> = {},
) {
  const service = await seedService(t.h.database.db);
  const res = await t.subscriptions.request(
    "/api/v1/subscriptions",
    json({ serviceSlug: service.slug, ...body }, t.h.bearer(user)),
  );
  return {
    res,
    service,
    body: (await res.json()) as SubscriptionDetail & { subscriptionId?: string },
  };
}

export async function outboxTypes(db: Db, subject: string) {
  const rows = await db
    .select({ type: outboxEvents.type })
    .from(outboxEvents)
    .where(eq(outboxEvents.subject, subject))
    .orderBy(asc(outboxEvents.createdAt));
  return rows.map((r) => r.type.replace("dev.minispod.", ""));
}

/** POST a provider callback; `signature` omitted sends none. */
export function deliverCallback(
  t: BillingTest,
  body: string,
  signature: string | undefined,
  app: Hono<AppEnv> = t.app,
) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (signature !== undefined) headers["payment-signature"] = signature;
  return app.request("/api/v1/payments/webhook", { method: "POST", headers, body });
}

/** A first charge the provider made but whose answer was lost: payment PENDING, invoice OPEN. */
export async function pendingFirstCharge(t: BillingTest) {
  const { res, body } = await subscribeVia(t, t.customer, {
    paymentMethod: SANDBOX_PAYMENT_METHODS.timeoutAfterCharge,
  });
  expect(res.status).toBe(503);
  const subscriptionId = body.subscriptionId!;
  const db = t.h.database.db;
  const [invoice] = await db
    .select()
    .from(invoices)
    .where(eq(invoices.subscriptionId, subscriptionId));
  const [payment] = await db.select().from(payments).where(eq(payments.invoiceId, invoice!.id));
  expect(payment?.status).toBe("PENDING");
  return { subscriptionId, invoice: invoice!, payment: payment! };
}
