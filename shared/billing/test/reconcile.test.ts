import type { PaymentProvider } from "@minispod/billing/payments";
import { sandboxPaymentProvider } from "@minispod/billing/payments";
import { invoices, payments } from "@minispod/db";
import { baseEnvEntries, type FunctionDefinition } from "@minispod/shared";
import { createHarness, type Harness, type TestUser } from "@minispod/shared/testing";
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import * as v from "valibot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BillingContext,
  billingContextOf,
  billingEnvEntries,
  paymentEnvEntries,
  reconcilePendingPayments,
  subscribe,
} from "../src/index";
import { seedCatalogService, steerableProvider } from "../src/testing";

// The package's own rules, without any function: a definition only to parse an env.
const envSchema = v.object({ ...baseEnvEntries, ...billingEnvEntries, ...paymentEnvEntries });
const definition: FunctionDefinition<v.InferOutput<typeof envSchema>> = {
  name: "billing-domain-test",
  routes: [],
  envSchema,
  create: () => new Hono(),
};

let h: Harness;
let ctx: BillingContext;
let customer: TestUser;
const sandbox = sandboxPaymentProvider();
const steerable = steerableProvider(sandbox);
beforeAll(async () => {
  h = await createHarness();
  ctx = billingContextOf({ ...h.context(definition), provider: steerable.provider });
  customer = await h.user();
});
afterAll(() => h.close());

/** A first charge whose answer was lost: PENDING here, charged at the provider. */
async function lostCharge() {
  steerable.set(customer.id, "lose");
  const service = await seedCatalogService(h.database.db);
  await subscribe({
    ctx,
    input: { userId: customer.id, serviceSlug: service.slug, actor: customer },
  }).catch(() => undefined);
  steerable.set(customer.id, "ok");
  const [row] = await h.database.db
    .select({ payment: payments })
    .from(payments)
    .innerJoin(invoices, eq(invoices.id, payments.invoiceId))
    .where(eq(payments.status, "PENDING"));
  return row!.payment;
}

const later = () => new Date(Date.now() + 60_000);

describe("reconcilePendingPayments", () => {
  it("leaves PENDING a payment whose provider record names another amount or currency", async () => {
    const pending = await lostCharge();
    const lying: PaymentProvider = {
      name: sandbox.name,
      charge: (request) => sandbox.charge(request),
      attachPaymentMethod: (request) => sandbox.attachPaymentMethod(request),
      findCharge: async (key) => {
        const found = await sandbox.findCharge(key);
        return found && { ...found, amountMinor: (found.amountMinor ?? 0) + 1 };
      },
    };
    const result = await reconcilePendingPayments({ ctx, provider: lying, olderThan: later() });
    expect(result).toMatchObject({ checked: 1, mismatched: 1, succeeded: 0, failed: 0 });
    const otherCurrency: PaymentProvider = {
      ...lying,
      findCharge: async (key) => {
        const found = await sandbox.findCharge(key);
        return found && { ...found, currency: "USD" };
      },
    };
    expect(
      await reconcilePendingPayments({ ctx, provider: otherCurrency, olderThan: later() }),
    ).toMatchObject({ mismatched: 1 });
    const [still] = await h.database.db.select().from(payments).where(eq(payments.id, pending.id));
    expect(still?.status).toBe("PENDING");

    // Another provider (by name) never touches this payment.
    const other = sandboxPaymentProvider({ name: "other-gateway" });
    expect(
      await reconcilePendingPayments({ ctx, provider: other, olderThan: later() }),
    ).toMatchObject({ checked: 0 });

    // The honest record settles it, with the same key: no second charge.
    const charges = sandbox.charges.length;
    expect(
      await reconcilePendingPayments({ ctx, provider: sandbox, olderThan: later() }),
    ).toMatchObject({ checked: 1, succeeded: 1, resent: 0 });
    expect(sandbox.charges.length).toBe(charges);
  });
});

describe("billing env", () => {
  it("reads the dunning schedule as distinct ascending days and names a bad one", () => {
    expect(h.env(definition, { BILLING_DUNNING_DAYS: "5, 1,3,3" }).BILLING_DUNNING_DAYS).toEqual([
      1, 3, 5,
    ]);
    expect(h.env(definition).BILLING_DUNNING_DAYS).toEqual([1, 3, 5]);
    expect(() => h.env(definition, { BILLING_DUNNING_DAYS: "1,x" })).toThrow(
      /BILLING_DUNNING_DAYS/,
    );
    expect(() => h.env(definition, { BILLING_DUNNING_DAYS: "0" })).toThrow(/BILLING_DUNNING_DAYS/);
  });
});
