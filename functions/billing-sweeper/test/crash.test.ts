import { outboxEvents, payments } from "@minispod/db";
import { createEventSender, relayOutbox } from "@minispod/shared";
import { and, eq, isNull, like, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import {
  activeSubscription,
  eventTypes,
  hours,
  type SweeperTest,
  setupSweeper,
  state,
} from "./helpers";

// A crash is injected where it would hurt: in the database (a trigger that fails the
// statement, as a process dying mid-transaction would roll it back), or in the
// provider port (the process stops before the charge leaves). The next run must
// converge: no double charge, no lost event.
let t: SweeperTest;
beforeAll(async () => {
  t = await setupSweeper({ BILLING_RECONCILE_AFTER: "10m" });
});
afterAll(() => t.h.close());

const db = () => t.h.database.db;

async function failWhen(name: string, table: string, timing: string, condition: string) {
  await db().execute(
    sql.raw(`create or replace function ${name}() returns trigger language plpgsql as $$
      begin if ${condition} then raise exception 'injected crash: ${name}'; end if; return new; end $$`),
  );
  await db().execute(
    sql.raw(`create trigger ${name} ${timing} on ${table} for each row execute function ${name}()`),
  );
  return async () => {
    await db().execute(sql.raw(`drop trigger ${name} on ${table}`));
  };
}

async function renewAt(at: Date) {
  t.h.clock.now = at;
  return t.app.request("/cron/renew", { method: "POST" });
}

/** How many times the provider charged each invoice of the subscription. */
async function chargesPerInvoice(subscriptionId: string) {
  const { invoices } = await state(t, subscriptionId);
  return invoices.map(
    (i) => t.sandbox.charges.filter((c) => c.request.metadata?.invoiceId === i.id).length,
  );
}

async function renewedOnce(subscriptionId: string, periodEnd: Date) {
  const after = await state(t, subscriptionId);
  expect(after.subscription.status).toBe("ACTIVE");
  expect(after.subscription.currentPeriodStart.getTime()).toBe(periodEnd.getTime());
  expect(after.invoices.map((i) => i.status)).toEqual(["PAID", "PAID"]);
  expect(after.payments.filter((p) => p.status === "SUCCEEDED")).toHaveLength(2);
  expect(after.payments.filter((p) => p.status === "PENDING")).toHaveLength(0);
  // The first period (subscribe) and the renewal: each charged exactly once.
  expect(await chargesPerInvoice(subscriptionId)).toEqual([1, 1]);
  const types = await eventTypes(t, [subscriptionId]);
  expect(types.filter((x) => x === "subscription.renewed")).toHaveLength(1);
}

describe("a billing sweep that crashes converges on the next run", () => {
  it("crash while claiming (before the commit): nothing half-written, the next run renews once", async () => {
    const sub = await activeSubscription(t);
    const repair = await failWhen(
      "test_crash_claim",
      "payments",
      "before insert",
      "new.idempotency_key like 'ren_%'",
    );
    const crashed = await renewAt(hours(sub.end, -1));
    await repair();
    expect(crashed.status).toBe(500);
    const between = await state(t, sub.id);
    // The invoice insert rolled back with the payment: one transaction.
    expect(between.invoices).toHaveLength(1);
    expect(await chargesPerInvoice(sub.id)).toEqual([1]);

    expect((await renewAt(hours(sub.end, -0.5))).status).toBe(200);
    await renewedOnce(sub.id, sub.end);
  });

  it("crash after the claim, before the charge left: reconciliation sends it once", async () => {
    const customer = await t.h.user();
    const sub = await activeSubscription(t, customer);
    t.steer(customer.id, "crash");
    const run = await renewAt(hours(sub.end, -1));
    expect(await run.json()).toMatchObject({ attempted: 1, unknown: 1 });
    t.steer(customer.id, "ok");
    const between = await state(t, sub.id);
    expect(between.payments.at(-1)?.status).toBe("PENDING");
    expect(await chargesPerInvoice(sub.id)).toEqual([1, 0]);

    // While the payment is PENDING and young, nobody charges it: not the renewal, not the reconciliation.
    const early = await (await renewAt(hours(sub.end, -0.95))).json();
    expect(early).toMatchObject({ attempted: 0, reconciled: { checked: 0 } });
    // Past BILLING_RECONCILE_AFTER, the provider says it never saw the key: sent now, once.
    const late = await (await renewAt(hours(sub.end, -0.5))).json();
    expect(late).toMatchObject({ attempted: 0, reconciled: { resent: 1, succeeded: 1 } });
    await renewedOnce(sub.id, sub.end);
  });

  it("crash between the charge and the commit: settled from the provider's record, never charged again", async () => {
    const customer = await t.h.user();
    const sub = await activeSubscription(t, customer);
    const repair = await failWhen(
      "test_crash_settle",
      "payments",
      "before update",
      "new.idempotency_key like 'ren_%' and new.status <> 'PENDING'",
    );
    const run = await renewAt(hours(sub.end, -1));
    await repair();
    expect(await run.json()).toMatchObject({ attempted: 1, unknown: 1 });
    const between = await state(t, sub.id);
    expect(between.subscription.currentPeriodStart.getTime()).not.toBe(sub.end.getTime());
    expect(between.payments.at(-1)?.status).toBe("PENDING");
    // The provider did charge.
    expect(await chargesPerInvoice(sub.id)).toEqual([1, 1]);

    const late = await (await renewAt(hours(sub.end, -0.5))).json();
    expect(late).toMatchObject({ attempted: 0, reconciled: { succeeded: 1, resent: 0 } });
    await renewedOnce(sub.id, sub.end);
    // A further run changes nothing.
    expect(await (await renewAt(hours(sub.end, 1))).json()).toMatchObject({ attempted: 0 });
    await renewedOnce(sub.id, sub.end);
  });

  it("crash after the commit, before the events were sent: outbox-relay sends every one, once", async () => {
    const customer = await t.h.user();
    const sub = await activeSubscription(t, customer);
    // The broker is unreachable for this run (as if the process died after the commit).
    const down = { publish: async () => Promise.reject(new Error("broker down")) };
    const app = createApp({
      ...t.deps,
      events: createEventSender(db(), down, t.deps.logger),
    });
    t.h.clock.now = hours(sub.end, -1);
    const run = (await (await app.request("/cron/renew", { method: "POST" })).json()) as {
      succeeded: number;
      published: number;
    };
    expect(run).toMatchObject({ succeeded: 1, published: 0 });
    const renewal = (await state(t, sub.id)).payments.at(-1)!;
    const pending = await db()
      .select({ id: outboxEvents.id, type: outboxEvents.type })
      .from(outboxEvents)
      .where(isNull(outboxEvents.publishedAt));
    expect(pending.map((e) => e.type.replace("dev.minispod.", "")).sort()).toEqual(
      expect.arrayContaining(["invoice.paid", "payment.succeeded", "subscription.renewed"]),
    );

    // outbox-relay's sweep, later, with the broker back (after the failed send's backoff).
    const before = t.h.publisher.events.length;
    await relayOutbox({
      db: db(),
      publisher: t.h.publisher,
      logger: t.deps.logger,
      batchSize: 1000,
      now: () => new Date(Date.now() + 3_600_000),
    });
    const sent = t.h.publisher.events.slice(before);
    expect(
      sent.filter((e) => e.subject === sub.id && e.type.endsWith("subscription.renewed")),
    ).toHaveLength(1);
    expect(sent.filter((e) => e.subject === renewal.id)).toHaveLength(1);
    const [left] = await db()
      .select({ n: sql<number>`count(*)::int` })
      .from(outboxEvents)
      .where(isNull(outboxEvents.publishedAt));
    expect(left?.n).toBe(0);
    await renewedOnce(sub.id, sub.end);
    expect(
      await db()
        .select()
        .from(payments)
        .where(and(eq(payments.id, renewal.id), like(payments.idempotencyKey, "ren_%"))),
    ).toHaveLength(1);
  });
});
