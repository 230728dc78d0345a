import { randomUUID } from "node:crypto";
import type {
  ChargeRequest,
  PaymentProvider,
  SandboxPaymentProvider,
} from "@minispod/billing/payments";
import { SANDBOX_PAYMENT_METHODS } from "@minispod/billing/payments";
import { type Db, serviceCatalog, subscriptions, users } from "@minispod/db";
import { sql } from "drizzle-orm";
import { addMonths } from "./period";

/**
 * Test and benchmark fixtures for the billing domain (not for production
 * code): catalog rows, many due subscriptions written set-based, and a
 * provider whose answers a test steers per customer.
 */

/** One catalog entry; `allowMultiple` lets one customer hold many subscriptions of it. */
export async function seedCatalogService(
  db: Db,
  overrides: Partial<typeof serviceCatalog.$inferInsert> = {},
) {
  const [row] = await db
    .insert(serviceCatalog)
    .values({
      slug: `vault-${randomUUID().slice(0, 8)}`,
      name: "Vaultwarden",
      image: "vaultwarden/server",
      imageTag: "1.32",
      port: 80,
      cpu: "100m",
      memory: "128Mi",
      priceMinor: 500,
      currency: "EUR",
      allowMultiple: true,
      ...overrides,
    })
    .returning();
  return row!;
}

/**
 * `count` ACTIVE subscriptions of `serviceId`, spread over `customers` new
 * users, whose period ends at `periodEnd`, written with one INSERT ... SELECT
 * each (so a benchmark can seed 100,000 rows in seconds).
 */
export async function seedDueSubscriptions(
  db: Db,
  options: {
    serviceId: string;
    count: number;
    periodEnd: Date;
    autoRenew: boolean;
    customers?: number;
    status?: "ACTIVE" | "PAST_DUE" | "EXPIRED";
    expiredAt?: Date;
  },
): Promise<{ userIds: string[] }> {
  const customers = Math.max(1, Math.min(options.customers ?? 100, options.count));
  const tag = randomUUID().slice(0, 8);
  const created = await db
    .insert(users)
    .values(
      Array.from({ length: customers }, (_, n) => ({
        email: `bulk-${tag}-${n}@example.com`,
        passwordHash: "x",
        name: "Bulk",
      })),
    )
    .returning({ id: users.id });
  const userIds = created.map((u) => u.id);
  const start = addMonths(options.periodEnd, -1);
  await db.execute(sql`
    insert into ${subscriptions} (user_id, service_id, status, current_period_start, current_period_end,
                                  auto_renew, exclusive, expired_at)
    select (${sql.raw(`array[${userIds.map((id) => `'${id}'::uuid`).join(",")}]`)})[1 + (n % ${customers}::int)],
           ${options.serviceId}::uuid, ${options.status ?? "ACTIVE"}::subscription_status,
           ${start.toISOString()}::timestamptz, ${options.periodEnd.toISOString()}::timestamptz,
           ${options.autoRenew}, false, ${options.expiredAt?.toISOString() ?? null}::timestamptz
    from generate_series(0, ${options.count}::int - 1) as n`);
  return { userIds };
}

/**
 * The sandbox with answers a test switches per customer: "decline" charges
 * with the declining test method, "lose" charges and then loses the answer
 * (outcome unknown), "crash" throws before anything reaches the provider.
 */
export function steerableProvider(sandbox: SandboxPaymentProvider) {
  const modes = new Map<string, "ok" | "decline" | "lose" | "crash">();
  const method = {
    ok: undefined,
    decline: SANDBOX_PAYMENT_METHODS.declined,
    lose: SANDBOX_PAYMENT_METHODS.timeoutAfterCharge,
  } as const;
  const provider: PaymentProvider = {
    name: sandbox.name,
    attachPaymentMethod: (request) => sandbox.attachPaymentMethod(request),
    async charge(request: ChargeRequest) {
      const mode = modes.get(request.customerId) ?? "ok";
      if (mode === "crash") throw new Error("process stopped before the charge was sent");
      return sandbox.charge({ ...request, paymentMethod: method[mode] ?? request.paymentMethod });
    },
    findCharge: (key) => sandbox.findCharge(key),
  };
  return {
    provider,
    set(customerId: string, mode: "ok" | "decline" | "lose" | "crash") {
      modes.set(customerId, mode);
    },
  };
}
