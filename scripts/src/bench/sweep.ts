/**
 * `npm run bench -- sweep`: the expiry sweep and the renewal sweep over many due
 * subscriptions on real PostgreSQL, next to a plain SQL UPDATE of the same rows
 * (the floor: what changing those rows costs with no events, audit or locks).
 *
 *   BENCH_DATABASE_URL  server to use (default postgres://postgres@127.0.0.1:5432/postgres);
 *                       a scratch database is created on it and dropped after
 *   BENCH_SWEEP_ROWS    due subscriptions for the expiry sweep (default 100000)
 *   BENCH_RENEW_ROWS    due subscriptions for the renewal sweep (default 100000; every one is
 *                       charged through the in-memory sandbox provider)
 *   EXPIRY_SWEEP_BATCH, EXPIRY_SWEEP_CONCURRENCY, BILLING_SWEEP_BATCH, BILLING_SWEEP_CONCURRENCY
 *                       the sweeps' knobs (the expiry's default to the function's, batches
 *                       of 1000 and 2 in flight; it is timed with 1 in flight too)
 *   BENCH_ROUNDS        expiry rounds, interleaved with the baselines (default 3)
 *   BENCH_SWEEP_HISTORY rows of history put in outbox_events and audit_log before the expiry is
 *                       timed again "at size", once with time-ordered keys (uuidv7, what the
 *                       tables use) and once with random ones (gen_random_uuid, before migration
 *                       0010); default 1000000, 0 skips it
 *   BENCH_RENEW_ROUNDS  renewal rounds (default 1: one round of 100,000 charges takes about a
 *                       minute, and the whole bench stays near 5 minutes)
 */
import { cpus, loadavg } from "node:os";
import {
  billingContextOf,
  expireEndedSubscriptions,
  renewDueSubscriptions,
} from "@minispod/billing";
import { sandboxPaymentProvider } from "@minispod/billing/payments";
import { seedCatalogService, seedDueSubscriptions } from "@minispod/billing/testing";
import { createDb, type Db, subscriptions } from "@minispod/db";
import { createTemplateDatabase, dropDatabase } from "@minispod/db/testing";
import { createEventSender, createLogger, createMetrics } from "@minispod/shared";
import { eq, sql } from "drizzle-orm";
import { median } from "./stats";

const server = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const logger = createLogger({ name: "bench", level: "silent" });
const rate = (rows: number, ms: number) => Math.round((rows / ms) * 1000);

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/**
 * The time of `work` and the WAL the server wrote meanwhile, in bytes. Unlike
 * the time, the WAL does not move with the machine's load. It counts the whole
 * server, so nothing else should write to it during the bench.
 */
async function walOf(db: Db, work: () => Promise<number>): Promise<{ ms: number; wal: number }> {
  const lsn = async () => {
    const [row] = (await db.execute(
      sql`select pg_current_wal_insert_lsn()::text as lsn`,
    )) as unknown as { lsn: string }[];
    const [high, low] = row!.lsn.split("/").map((part) => BigInt(`0x${part}`));
    return (high! << 32n) + low!;
  };
  const before = await lsn();
  const ms = await work();
  return { ms, wal: Number((await lsn()) - before) };
}

export async function sweepBench() {
  const name = `minispod_bench_${process.pid}`;
  await createTemplateDatabase(server, name);
  const url = server.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
  const database = createDb(url, { max: 10 });
  const started = performance.now();
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(" ");
  console.log(`sweep bench, ${cpus().length} cores, load average ${load()}`);
  try {
    const expiry = await expiryVsUpdate(database.db);
    await expiryAtSize(database.db, expiry);
    await renewalVsUpdate(database.db);
    console.log(
      `\ntook ${((performance.now() - started) / 1000).toFixed(0)} s; load average ${load()}`,
    );
  } finally {
    await database.close();
    await dropDatabase(server, name);
  }
}

/** Puts the seeded rows back to due (untimed) and cleans up dead tuples between rounds. */
async function reset(db: Db, serviceId: string, periodEnd: Date) {
  const start = new Date(periodEnd.getTime() - 30 * 86_400_000);
  await db
    .update(subscriptions)
    .set({
      status: "ACTIVE",
      expiredAt: null,
      renewalAttempts: 0,
      currentPeriodStart: start,
      currentPeriodEnd: periodEnd,
    })
    .where(eq(subscriptions.serviceId, serviceId));
  await db.execute(sql`vacuum analyze subscriptions`);
  await db.execute(sql`vacuum analyze invoices`);
  await db.execute(sql`vacuum analyze payments`);
  // The UPDATE above has just rewritten every row. Without a checkpoint after
  // it, the timed part would find those pages already logged in full and skip
  // their full-page writes, unless a checkpoint happened to fall in between
  // (luck that spread earlier runs). Rows due in production were last written
  // a period ago, with checkpoints since: every timed part starts after one.
  await db.execute(sql`checkpoint`).catch(() => {});
}

/**
 * The floor: one UPDATE of exactly the rows the sweep changes, same predicate.
 * With `half`, only the rows whose id falls in that half of the UUID space
 * (random ids: about half the rows each).
 */
function plainExpiryUpdate(db: Db, serviceId: string, now: Date, half?: 0 | 1) {
  const split =
    half === undefined
      ? sql``
      : half === 0
        ? sql`and id < '80000000-0000-0000-0000-000000000000'::uuid`
        : sql`and id >= '80000000-0000-0000-0000-000000000000'::uuid`;
  return db.execute(sql`
    update subscriptions set status = 'EXPIRED', expired_at = ${now.toISOString()}::timestamptz
    where service_id = ${serviceId}::uuid and status = 'ACTIVE' and auto_renew = false
      and current_period_end <= ${now.toISOString()}::timestamptz ${split}`);
}

/**
 * The same writes as the sweep (state change, outbox event, audit row per
 * subscription) in one statement over all rows: no batching, no row locks.
 * What those writes cost at the least, whoever makes them. Without `audit`,
 * the state change and the event only: the floor if the audit row were dropped.
 */
function plainExpiryWrites(db: Db, serviceId: string, now: Date, audit = true) {
  const at = sql`${now.toISOString()}::timestamptz`;
  const audits = audit
    ? sql`, audits as (
      insert into audit_log (actor_role, owner_id, action, resource_type, resource_id, created_at)
      select 'SYSTEM', user_id, 'subscription.expired', 'subscription', id::text, ${at} from expired)`
    : sql``;
  return db.execute(sql`
    with expired as (
      update subscriptions set status = 'EXPIRED', expired_at = ${at}
      where service_id = ${serviceId}::uuid and status = 'ACTIVE' and auto_renew = false
        and current_period_end <= ${at}
      returning id, user_id),
    events as (
      insert into outbox_events (type, source, subject, data)
      select 'dev.minispod.subscription.expired', 'bench', id::text,
             jsonb_build_object('userId', user_id, 'subscriptionId', id) from expired)
    ${audits}
    select count(*) from expired`);
}

/**
 * The sweep's claim and state change alone, in its batches (same predicate,
 * same SKIP LOCKED claim, same update by primary key): no event, no audit row,
 * no invoice voiding. What the batching and row locks cost by themselves.
 */
async function batchedExpiryUpdate(db: Db, now: Date, batchSize: number) {
  const at = sql`${now.toISOString()}::timestamptz`;
  for (;;) {
    const result = await db.execute(sql`
      with due as (
        select s.id, s.ctid as tid from subscriptions s
        where s.status in ('ACTIVE', 'PAST_DUE') and (not s.auto_renew or not s.card_on_file)
          and s.purged_at is null and s.current_period_end <= ${at}
        order by s.current_period_end
        limit ${batchSize}
        for update of s skip locked),
      expired as (
        update subscriptions s
        set status = 'EXPIRED', expired_at = ${at}, next_renewal_attempt_at = null, updated_at = ${at}
        from due where s.ctid = any(array(select tid from due)) and s.id = due.id
        returning s.id)
      select (select count(*) from due)::int as claimed`);
    const [row] = result as unknown as { claimed: number }[];
    if (Number(row?.claimed ?? 0) < batchSize) return;
  }
}

async function expiryVsUpdate(db: Db) {
  const rows = Number(process.env.BENCH_SWEEP_ROWS ?? 100_000);
  const service = await seedCatalogService(db);
  const now = new Date();
  const periodEnd = new Date(now.getTime() - 60_000);
  await seedDueSubscriptions(db, {
    serviceId: service.id,
    count: rows,
    periodEnd,
    autoRenew: false,
    customers: 1000,
  });
  // Each has its instance, as in production (the provisioner made one when the subscription
  // became ACTIVE): the sweep looks it up and the event carries its id.
  await db.execute(sql`
    insert into service_instances (subscription_id, namespace, object_name, host, url, status)
    select id, 'c-' || user_id, 'i-' || id, id || '.bench.test', 'https://' || id || '.bench.test', 'RUNNING'
    from subscriptions where service_id = ${service.id}::uuid`);
  await db.execute(sql`vacuum analyze service_instances`);
  const ctx = {
    db,
    logger,
    source: "bench",
    settings: { namespacePrefix: "c-", clusterDomain: "x", retentionDays: 30, dunningDays: [1] },
  };
  const sweepMs: number[] = [];
  const parallelMs: number[] = [];
  const updateMs: number[] = [];
  const halvesMs: number[] = [];
  const writesMs: number[] = [];
  const twoWritesMs: number[] = [];
  const batchedMs: number[] = [];
  // The function's defaults (functions/expiry-sweeper/src/env.ts).
  const batchSize = Number(process.env.EXPIRY_SWEEP_BATCH ?? 1000);
  const concurrency = Number(process.env.EXPIRY_SWEEP_CONCURRENCY ?? 2);
  const sweep = (inFlight: number) => async () => {
    const result = await expireEndedSubscriptions({
      ctx,
      now,
      batchSize,
      maxBatches: Math.ceil(rows / batchSize) + 1,
      concurrency: inFlight,
    });
    if (result.changed !== rows) {
      throw new Error(`expiry sweep changed ${result.changed} of ${rows} rows`);
    }
  };
  // WAL bytes of each part, per round (steady where the times are not).
  const wal = {
    update: [] as number[],
    writes: [] as number[],
    twoWrites: [] as number[],
    batched: [] as number[],
    sweep: [] as number[],
  };
  const part = async (into: number[], walInto: number[] | null, work: () => Promise<unknown>) => {
    await reset(db, service.id, periodEnd);
    const { ms, wal: bytes } = await walOf(db, () => timed(work));
    into.push(ms);
    walInto?.push(bytes);
  };
  for (let round = 0; round < rounds; round++) {
    await part(updateMs, wal.update, () => plainExpiryUpdate(db, service.id, now));
    // The same UPDATE on two connections at once, one half of the rows each: what the plain
    // statement gets from the second core the sweep's two batches in flight use.
    await part(halvesMs, null, () =>
      Promise.all([0, 1].map((half) => plainExpiryUpdate(db, service.id, now, half as 0 | 1))),
    );
    await part(writesMs, wal.writes, () => plainExpiryWrites(db, service.id, now));
    await part(twoWritesMs, wal.twoWrites, () => plainExpiryWrites(db, service.id, now, false));
    await part(batchedMs, wal.batched, () => batchedExpiryUpdate(db, now, batchSize));
    await part(sweepMs, wal.sweep, sweep(1));
    await part(parallelMs, null, sweep(concurrency));
  }
  const one = rate(rows, median(sweepMs));
  const parallel = rate(rows, median(parallelMs));
  const update = rate(rows, median(updateMs));
  const halves = rate(rows, median(halvesMs));
  const writes = rate(rows, median(writesMs));
  const twoWrites = rate(rows, median(twoWritesMs));
  const batched = rate(rows, median(batchedMs));
  const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(0)}%`;
  console.log(
    `\nexpiry sweep over ${rows} due subscriptions, batches of ${batchSize} (median of ${rounds}, PostgreSQL)`,
  );
  console.log("  sweep: SKIP LOCKED batches; update, void invoices, outbox event + audit row each");
  console.log(`    ${concurrency} batches in flight (the function's setting): ${parallel} rows/s`);
  console.log(`    1 batch in flight:                               ${one} rows/s`);
  console.log(`  plain SQL UPDATE of the same rows (the state change only):  ${update} rows/s`);
  console.log(`  the same UPDATE as two halves on two connections at once:   ${halves} rows/s`);
  console.log(`  the same three writes per row, one unbatched statement:     ${writes} rows/s`);
  console.log(`  the state change + event only (no audit row), unbatched:    ${twoWrites} rows/s`);
  console.log(`  the sweep's claim + update alone, same batches, no writes:  ${batched} rows/s`);
  console.log(
    `  ratio sweep / plain UPDATE: ${pct(parallel, update)} with ${concurrency} in flight, ${pct(one, update)} with 1 (goal 50%)`,
  );
  console.log(
    `  on two connections each: sweep with ${concurrency} in flight / the UPDATE's two halves at once: ${pct(parallel, halves)}`,
  );
  console.log(
    `  sweep (1 in flight) / same writes unbatched: ${pct(one, writes)}; of the plain UPDATE: three writes unbatched ${pct(writes, update)}, two writes unbatched ${pct(twoWrites, update)}, claim + update batched ${pct(batched, update)}`,
  );
  const perRow = (bytes: number[]) => Math.round(median(bytes) / rows);
  console.log(
    `  WAL written per row: plain UPDATE ${perRow(wal.update)} B; claim + update batched ${perRow(wal.batched)} B; three writes unbatched ${perRow(wal.writes)} B; two writes unbatched ${perRow(wal.twoWrites)} B; sweep ${perRow(wal.sweep)} B`,
  );
  return { ctx, serviceId: service.id, periodEnd, now, rows, batchSize };
}

/**
 * The expiry again with the outbox and the audit log already holding a running
 * system's history (BENCH_SWEEP_HISTORY rows each), once per primary-key kind:
 * random keys make every insert touch a random page of an index far larger
 * than the cache; time-ordered keys append at its right edge.
 */
async function expiryAtSize(db: Db, run: Awaited<ReturnType<typeof expiryVsUpdate>>) {
  const history = Number(process.env.BENCH_SWEEP_HISTORY ?? 1_000_000);
  if (history <= 0) return;
  const { ctx, serviceId, periodEnd, now, rows, batchSize } = run;
  const figures: string[] = [];
  for (const [label, key] of [
    ["time-ordered keys (uuidv7(), what the tables use)", "uuidv7()"],
    ["random keys (gen_random_uuid(), before migration 0010)", "gen_random_uuid()"],
  ] as const) {
    await db.execute(sql`alter table outbox_events alter column id set default ${sql.raw(key)}`);
    await db.execute(sql`alter table audit_log alter column id set default ${sql.raw(key)}`);
    await db.execute(sql`truncate outbox_events, audit_log`);
    // A year of history: published events and system audit rows about other subscriptions.
    await db.execute(sql`
      insert into outbox_events (type, source, subject, data, time, published_at, created_at)
      select 'dev.minispod.subscription.renewed', 'bench', s::text, jsonb_build_object('subscriptionId', s),
             t, t, t
      from (select gen_random_uuid() as s,
                   now() - interval '365 days' + n * (interval '365 days' / ${history}::int) as t
            from generate_series(1, ${history}::int) as n) h`);
    await db.execute(sql`
      insert into audit_log (actor_role, owner_id, action, resource_type, resource_id, metadata, created_at)
      select 'SYSTEM', gen_random_uuid(), 'subscription.renewed', 'subscription', gen_random_uuid()::text, '{}'::jsonb,
             now() - interval '365 days' + n * (interval '365 days' / ${history}::int)
      from generate_series(1, ${history}::int) as n`);
    await db.execute(sql`vacuum analyze outbox_events`);
    await db.execute(sql`vacuum analyze audit_log`);
    await reset(db, serviceId, periodEnd);
    const updateMs = await timed(() => plainExpiryUpdate(db, serviceId, now));
    await reset(db, serviceId, periodEnd);
    const sweepMs = await timed(() =>
      expireEndedSubscriptions({
        ctx,
        now,
        batchSize,
        maxBatches: Math.ceil(rows / batchSize) + 1,
      }),
    );
    const sweep = rate(rows, sweepMs);
    const update = rate(rows, updateMs);
    figures.push(
      `  ${label}: ${sweep} rows/s, ${((sweep / update) * 100).toFixed(0)}% of the plain UPDATE (${update} rows/s)`,
    );
  }
  await db.execute(sql`alter table outbox_events alter column id set default uuidv7()`);
  await db.execute(sql`alter table audit_log alter column id set default uuidv7()`);
  await db.execute(sql`truncate outbox_events, audit_log`);
  console.log(
    `\nexpiry sweep at size: ${history} rows of history in outbox_events and in audit_log (one round each)`,
  );
  for (const line of figures) console.log(line);
}

async function renewalVsUpdate(db: Db) {
  const rows = Number(process.env.BENCH_RENEW_ROWS ?? 100_000);
  const service = await seedCatalogService(db);
  const now = new Date();
  const periodEnd = new Date(now.getTime() + 3_600_000);
  await seedDueSubscriptions(db, {
    serviceId: service.id,
    count: rows,
    periodEnd,
    autoRenew: true,
    customers: 1000,
  });
  // The in-memory sandbox: the figure is our side's cost, not a gateway's latency.
  const env = {
    K8S_NAMESPACE_PREFIX: "c-",
    K8S_CLUSTER_DOMAIN: "x",
    SUBSCRIPTION_RETENTION_DAYS: 30,
    BILLING_DUNNING_DAYS: [1],
  };
  const ctx = billingContextOf({
    name: "bench",
    db,
    now: () => now,
    logger,
    metrics: createMetrics("bench", { defaultMetrics: false }),
    events: createEventSender(db, { publish: async () => {} }, logger),
    provider: sandboxPaymentProvider(),
    env: env as never,
  } as never);
  // Events are left in the outbox (the relay's job), as the sweeper's collector does.
  const quiet = { ...ctx, events: { ...ctx.events, kick: () => {} } };
  const batchSize = Number(process.env.BILLING_SWEEP_BATCH ?? 500);
  const concurrency = Number(process.env.BILLING_SWEEP_CONCURRENCY ?? 16);
  const sweepMs: number[] = [];
  const updateMs: number[] = [];
  const newEnd = new Date(periodEnd.getTime() + 30 * 86_400_000);
  const renewRounds = Number(process.env.BENCH_RENEW_ROUNDS ?? 1);
  for (let round = 0; round < renewRounds; round++) {
    await reset(db, service.id, periodEnd);
    updateMs.push(
      await timed(() =>
        db.execute(sql`
          update subscriptions set current_period_start = current_period_end,
                 current_period_end = ${newEnd.toISOString()}::timestamptz
          where service_id = ${service.id}::uuid and status = 'ACTIVE' and auto_renew
            and current_period_end <= ${new Date(now.getTime() + 86_400_000).toISOString()}::timestamptz`),
      ),
    );
    await reset(db, service.id, periodEnd);
    // Each round renews a new period: the previous round's invoices are for another one.
    let succeeded = 0;
    sweepMs.push(
      await timed(async () => {
        const result = await renewDueSubscriptions({
          ctx: quiet,
          now,
          windowSeconds: 86_400,
          batchSize,
          maxBatches: Math.ceil(rows / batchSize) + 1,
          concurrency,
        });
        succeeded = result.succeeded;
      }),
    );
    if (succeeded !== rows) throw new Error(`renewal sweep renewed ${succeeded} of ${rows} rows`);
    await db.execute(sql`delete from outbox_events`);
    await db.execute(sql`delete from audit_log`);
    await db.execute(sql`delete from payments`);
    await db.execute(sql`delete from invoices`);
  }
  const sweep = rate(rows, median(sweepMs));
  const update = rate(rows, median(updateMs));
  console.log(
    `\nrenewal sweep over ${rows} due subscriptions, batches of ${batchSize}, ${concurrency} charges in flight (median of ${renewRounds}, PostgreSQL, sandbox provider)`,
  );
  console.log(
    `  sweep (claim, invoice + payment rows, charge, settle, 3 outbox events + audit each): ${sweep} rows/s`,
  );
  console.log(
    `  plain SQL UPDATE moving the same rows' period:                                ${update} rows/s`,
  );
  console.log(`  ratio sweep / UPDATE: ${((sweep / update) * 100).toFixed(1)}%`);
}
