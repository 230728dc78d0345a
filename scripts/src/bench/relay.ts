/**
 * `npm run bench -- relay`: how fast the outbox drains. Sends BENCH_RELAY_ROWS
 * outbox rows (default 2000, one subject each) through `relayOutbox` in
 * batches of OUTBOX_RELAY_BATCH (default 200), as outbox-relay's sweep does,
 * on real PostgreSQL (a scratch database on BENCH_DATABASE_URL), to a broker
 * that answers at once and to one that takes BENCH_RELAY_LATENCY_MS (default
 * 2). Each with one send in flight and with OUTBOX_RELAY_CONCURRENCY (default
 * 16, the relay's own setting); rounds interleaved, medians printed.
 */
import { createDb, type Db } from "@minispod/db";
import { createTemplateDatabase, dropDatabase } from "@minispod/db/testing";
import { createLogger, relayOutbox } from "@minispod/shared";
import { sql } from "drizzle-orm";
import { median } from "./stats";

const server = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const rows = Number(process.env.BENCH_RELAY_ROWS ?? 2000);
const batchSize = Number(process.env.OUTBOX_RELAY_BATCH ?? 200);
const concurrency = Number(process.env.OUTBOX_RELAY_CONCURRENCY ?? 16);
const latencyMs = Number(process.env.BENCH_RELAY_LATENCY_MS ?? 2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const logger = createLogger({ name: "bench", level: "silent" });

/** Fills the outbox with `rows` unsent events, then times draining it. */
async function drain(db: Db, inFlight: number, latency: number): Promise<number> {
  await db.execute(sql`truncate outbox_events`);
  await db.execute(sql`
    insert into outbox_events (type, source, subject, data)
    select 'dev.minispod.subscription.expired', 'bench', gen_random_uuid()::text,
           jsonb_build_object('subscriptionId', gen_random_uuid(), 'n', n)
    from generate_series(1, ${rows}::int) as n`);
  await db.execute(sql`vacuum analyze outbox_events`);
  const publisher = {
    publish: async () => {
      if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    },
  };
  const started = performance.now();
  let sent = 0;
  for (;;) {
    const result = await relayOutbox({ db, publisher, logger, batchSize, concurrency: inFlight });
    sent += result.published;
    if (result.published + result.failed < batchSize) break;
  }
  const ms = performance.now() - started;
  if (sent !== rows) throw new Error(`relay sent ${sent} of ${rows} events`);
  return ms;
}

export async function relayBench() {
  const name = `minispod_bench_relay_${process.pid}`;
  await createTemplateDatabase(server, name);
  const database = createDb(server.replace(/\/[^/?]*(\?|$)/, `/${name}$1`), { max: 4 });
  try {
    const cases = [
      [`broker answering at once, 1 in flight`, 1, 0],
      [`broker answering at once, ${concurrency} in flight`, concurrency, 0],
      [`broker answering in ${latencyMs} ms, 1 in flight`, 1, latencyMs],
      [`broker answering in ${latencyMs} ms, ${concurrency} in flight`, concurrency, latencyMs],
    ] as const;
    const times = cases.map(() => [] as number[]);
    for (let round = 0; round < rounds; round++) {
      for (const [i, [, inFlight, latency]] of cases.entries()) {
        times[i]!.push(await drain(database.db, inFlight, latency));
      }
    }
    console.log(
      `\noutbox relay: ${rows} events in batches of ${batchSize}, median of ${rounds} (PostgreSQL)`,
    );
    for (const [i, [label]] of cases.entries()) {
      const ms = median(times[i]!);
      console.log(
        `  ${label.padEnd(44)} ${Math.round(ms)} ms, ${Math.round((rows / ms) * 1000)} events/s`,
      );
    }
  } finally {
    await database.close();
    await dropDatabase(server, name);
  }
}
