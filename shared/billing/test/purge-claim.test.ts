import { purgeDueClaim } from "@minispod/billing";
import { seedCatalogService, seedDueSubscriptions } from "@minispod/billing/testing";
import { subscriptions } from "@minispod/db";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { and, eq, isNull, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

const db = () => h.database.db;
const day = 86_400_000;

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

describe("the purge's claim", () => {
  it("reads only the retention window's rows, however many subscriptions were purged before", async () => {
    const now = new Date("2027-03-01T00:00:00.000Z");
    const cutoff = new Date(now.getTime() - 30 * day);
    const service = await seedCatalogService(db());
    const seed = async (count: number, expiredAt: Date) =>
      seedDueSubscriptions(db(), {
        serviceId: service.id,
        count,
        periodEnd: new Date(expiredAt.getTime() - day),
        autoRenew: false,
        customers: 20,
        status: "EXPIRED",
        expiredAt,
      });
    // Years of history: every one of these ended and was purged long ago.
    await seed(20_000, new Date(now.getTime() - 400 * day));
    await db()
      .update(subscriptions)
      .set({ purgedAt: new Date(now.getTime() - 300 * day) })
      .where(eq(subscriptions.serviceId, service.id));
    // Due for purge (expired 31-36 days ago), and still inside the window (expired 5 days ago).
    for (let n = 0; n < 6; n++) await seed(2, new Date(now.getTime() - (31 + n) * day));
    await seed(5, new Date(now.getTime() - 5 * day));
    await db().execute(sql`analyze subscriptions`);

    const [explained] = (await db().execute(
      sql`explain (format json) ${purgeDueClaim(db(), cutoff, 500)}`,
    )) as unknown as { "QUERY PLAN": { Plan: PlanNode }[] }[];
    const nodes = nodesOf(explained!["QUERY PLAN"][0]!.Plan);
    const onSubscriptions = nodes.filter((n) => n["Relation Name"] === "subscriptions");
    expect(onSubscriptions.map((n) => n["Node Type"])).not.toContain("Seq Scan");
    expect(onSubscriptions.map((n) => n["Index Name"])).toContain("subscriptions_purge_due_idx");
    // No sort of every candidate either: the index gives them oldest first.
    expect(nodes.map((n) => n["Node Type"])).not.toContain("Sort");

    const claimed = await db().transaction((tx) => purgeDueClaim(tx, cutoff, 500));
    const expected = await db()
      .select({ id: subscriptions.id, expiredAt: subscriptions.expiredAt })
      .from(subscriptions)
      .where(
        and(
          eq(subscriptions.serviceId, service.id),
          isNull(subscriptions.purgedAt),
          sql`${subscriptions.expiredAt} <= ${cutoff.toISOString()}::timestamptz`,
        ),
      );
    expect(claimed).toHaveLength(12);
    expect(new Set(claimed.map((row) => row.subscription.id))).toEqual(
      new Set(expected.map((row) => row.id)),
    );
    const times = claimed.map((row) => row.subscription.expiredAt!.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });
});
