import { connect, createServer, type Server, type Socket } from "node:net";
import { exportKeyPem, generateSigningKey } from "@minispod/shared";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, functionEntry, type Spawned, spawnEntry } from "./support/process";

/**
 * Redis lost after start-up is an outage, not a configuration error: the
 * function keeps running, readiness answers 503 with the reason, and the log
 * says so once when it starts and once when it ends — not once per reconnect
 * or per probe, and never through ioredis's own stderr printing. Redis is
 * reached through a TCP proxy the test can cut and restore.
 */
let h: Harness;
let proxyPort: number;
let proxy: Server | undefined;
const sockets = new Set<Socket>();
let fn: Spawned | undefined;
let base: string;

function openProxy(redisPort: number, redisHost: string) {
  return new Promise<void>((resolve) => {
    proxy = createServer((client) => {
      const upstream = connect(redisPort, redisHost);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    proxy.listen(proxyPort, "127.0.0.1", resolve);
  });
}

function cutProxy() {
  return new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    proxy?.close(() => resolve());
  });
}

const readiness = async () => {
  const response = await fetch(`${base}/health/readiness`);
  return { status: response.status, body: await response.json() };
};
const lines = (text: string) =>
  fn!
    .stdout()
    .split("\n")
    .filter((l) => l.includes(text));

async function until(check: () => Promise<boolean>, what: string, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  h = await createHarness();
  const redis = new URL(h.redisUrl);
  proxyPort = await freePort();
  await openProxy(Number(redis.port || 6379), redis.hostname);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  fn = spawnEntry(functionEntry("catalog"), {
    DATABASE_URL: h.databaseUrl,
    REDIS_URL: `redis://127.0.0.1:${proxyPort}`,
    REDIS_KEY_PREFIX: h.redisPrefix,
    JWT_PUBLIC_KEY: (await exportKeyPem(await generateSigningKey())).publicPem,
    PORT: String(port),
    LOG_LEVEL: "info",
  });
  await fn.waitFor('"msg":"listening"', 60_000);
}, 90_000);
afterAll(async () => {
  fn?.child.kill("SIGKILL");
  await fn?.exited;
  await cutProxy();
  await h?.close();
});

describe("Redis lost after start-up", () => {
  it("answers readiness 503 with the reason and logs the outage once, then recovers", async () => {
    expect((await readiness()).status).toBe(200);

    await cutProxy();
    await until(async () => (await readiness()).status === 503, "readiness 503");
    // Several more probes and reconnects while it stays down.
    for (let i = 0; i < 5; i++) {
      const probe = await readiness();
      expect(probe.status).toBe(503);
      expect(probe.body).toMatchObject({ checks: { cache: "failing" } });
      expect(probe.body.reasons.cache).toEqual(expect.any(String));
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    // Logs arrive through a pipe: wait for the line rather than race it.
    await until(async () => lines("readiness check failed").length > 0, "the outage log line");
    expect(lines("Redis unreachable")).toHaveLength(1);
    expect(lines("readiness check failed")).toHaveLength(1);

    await openProxy(Number(new URL(h.redisUrl).port || 6379), new URL(h.redisUrl).hostname);
    await until(async () => (await readiness()).status === 200, "readiness 200 again");
    await until(
      async () => lines("readiness check passes again").length > 0,
      "the recovery log line",
    );
    expect(lines("Redis reachable again")).toHaveLength(1);
    expect(lines("readiness check passes again")).toHaveLength(1);
    expect(lines("Redis unreachable")).toHaveLength(1);

    // Nothing went around the JSON logger.
    expect(fn!.stderr()).toBe("");
    expect(
      fn!
        .stdout()
        .split("\n")
        .filter((l) => l && !l.startsWith("{")),
    ).toEqual([]);
  }, 60_000);
});
