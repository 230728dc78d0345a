import { mkdtempSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportKeyPem, generateSigningKey } from "@minispod/shared";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  freePort,
  functionEntry,
  jsonLines,
  runnerEntry,
  runToExit,
  spawnEntry,
} from "./support/process";

/**
 * Start-up with a broken setting, each in a real process: it must exit 1
 * within seconds (a hang is killed at 30 s and fails), name the variable in
 * one JSON log line and one plain line on stderr, and print no stack and
 * nothing outside those two (no "[ioredis] Unhandled error event").
 */
let h: Harness;
let publicPem: string;

beforeAll(async () => {
  h = await createHarness();
  publicPem = (await exportKeyPem(await generateSigningKey())).publicPem;
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const runnerEnv = (extra: Record<string, string>) => ({
  DATA_DIR: mkdtempSync(join(tmpdir(), "minispod-startup-")),
  HOST: "127.0.0.1",
  LOCAL_CRON: "false",
  BCRYPT_COST: "4",
  LOG_LEVEL: "info",
  ...extra,
});

/** Start-up is a few seconds of module loading plus a refused connection, which fails at once. */
const EXIT_WITHIN_MS = 20_000;

function expectFailureNaming(
  result: Awaited<ReturnType<typeof runToExit>>,
  variable: string,
  name: string,
) {
  expect(result.code, result.stderr).toBe(1);
  expect(result.ms).toBeLessThan(EXIT_WITHIN_MS);
  // One plain line for humans, naming the variable, saying what to do.
  const plain = result.stderr.trim().split("\n");
  expect(plain).toHaveLength(1);
  expect(plain[0]).toMatch(new RegExp(`^${name}: cannot start: .*${variable}`));
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr + result.stdout).not.toContain("[ioredis]");
  // And the same in the JSON log, the only thing on stdout.
  const fatal = jsonLines(result.stdout).filter((line) => line.level === 60);
  expect(fatal).toHaveLength(1);
  expect(JSON.stringify(fatal[0])).toContain(variable);
  expect(result.stdout.split("\n").filter((l) => l && !l.startsWith("{"))).toEqual([]);
  expect(result.stdout).not.toContain("minispod is running");
}

describe("npm start with a broken setting", () => {
  it("DATABASE_URL at a closed port: exits naming DATABASE_URL and what was tried", async () => {
    const port = await freePort();
    const result = await runToExit(
      runnerEntry,
      runnerEnv({ DATABASE_URL: `postgres://postgres:pw@127.0.0.1:${port}/minispod` }),
    );
    expectFailureNaming(result, "DATABASE_URL", "minispod");
    expect(result.stderr).toContain(`127.0.0.1:${port}`);
    expect(result.stderr).toContain("connection refused");
    expect(result.stderr).not.toContain(":pw@");
  });

  it("REDIS_URL at a closed port: exits naming REDIS_URL instead of running without a cache", async () => {
    const port = await freePort();
    const result = await runToExit(
      runnerEntry,
      runnerEnv({ DATABASE_URL: h.databaseUrl, REDIS_URL: `redis://127.0.0.1:${port}` }),
    );
    expectFailureNaming(result, "REDIS_URL", "minispod");
    expect(result.stderr).toContain("connection refused");
  });

  it("a malformed JWT_PRIVATE_KEY: names the variable, not a DOMException", async () => {
    const result = await runToExit(
      runnerEntry,
      runnerEnv({
        DATABASE_URL: h.databaseUrl,
        JWT_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----",
      }),
    );
    expectFailureNaming(result, "JWT_PRIVATE_KEY", "minispod");
    expect(result.stderr).not.toContain("pkcs8");
    expect(result.stderr).not.toContain("not base64");
  });

  it("PORT=abc: says so once", async () => {
    const result = await runToExit(runnerEntry, runnerEnv({ PORT: "abc" }));
    expectFailureNaming(result, "PORT", "minispod");
    expect(result.stderr.match(/PORT must be an integer/g)).toHaveLength(1);
  });

  describe("with the port already taken", () => {
    let blocker: Server;
    let port: number;
    beforeAll(async () => {
      blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
      port = (blocker.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

    it("exits naming PORT, and never prints the 'running' banner", async () => {
      const result = await runToExit(
        runnerEntry,
        runnerEnv({
          DATABASE_URL: h.databaseUrl,
          REDIS_URL: h.redisUrl,
          REDIS_KEY_PREFIX: h.redisPrefix,
          PORT: String(port),
          LOG_LEVEL: "warn",
        }),
        60_000,
      );
      // Migrations, seeding and the admin come first here: a longer, still bounded, start.
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr.trim()).toMatch(
        new RegExp(
          `^minispod: cannot start: PORT: the port is already in use.*127\\.0\\.0\\.1:${port}`,
        ),
      );
      expect(result.stderr).not.toContain("EADDRINUSE");
      expect(result.stdout).not.toContain("minispod is running");
    });
  });
});

/**
 * A TCP server in front of `target` that holds every connection, answering
 * nothing, until `holdMs` after the first one came (never, without a target):
 * a database that is slow, or silent, at start-up.
 */
async function stallingProxy(holdMs: number, target?: { host: string; port: number }) {
  let opensAt: number | undefined;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    opensAt ??= Date.now() + holdMs;
    sockets.add(client);
    client.pause();
    client.on("error", () => client.destroy());
    if (!target) return;
    setTimeout(
      () => {
        const upstream = connect(target.port, target.host);
        sockets.add(upstream);
        upstream.on("error", () => client.destroy());
        client.pipe(upstream).pipe(client);
        client.resume();
      },
      Math.max(0, opensAt - Date.now()),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("npm start's database deadline (STARTUP_CONNECT_TIMEOUT)", () => {
  it("a database that never answers: exits after the deadline naming DATABASE_URL and the wait", async () => {
    const silent = await stallingProxy(Number.POSITIVE_INFINITY);
    try {
      const result = await runToExit(
        runnerEntry,
        runnerEnv({
          DATABASE_URL: `postgres://postgres:pw@127.0.0.1:${silent.port}/minispod`,
          STARTUP_CONNECT_TIMEOUT: "1s",
        }),
      );
      expectFailureNaming(result, "DATABASE_URL", "minispod");
      expect(result.stderr).toContain("the database gave no answer within 1000 ms");
      expect(result.stderr).toContain(`127.0.0.1:${silent.port}`);
      expect(result.stderr).toContain("STARTUP_CONNECT_TIMEOUT");
    } finally {
      await silent.close();
    }
  });

  it("by default waits long enough for a database that takes 7 s to answer (a loaded machine)", async () => {
    const pg = new URL(h.databaseUrl);
    const slow = await stallingProxy(7_000, { host: pg.hostname, port: Number(pg.port || 5432) });
    const url = new URL(h.databaseUrl);
    url.hostname = "127.0.0.1";
    url.port = String(slow.port);
    const runner = spawnEntry(
      runnerEntry,
      runnerEnv({
        DATABASE_URL: url.toString(),
        PORT: String(await freePort()),
        LOG_LEVEL: "warn",
      }),
    );
    try {
      await runner.waitFor("minispod is running", 90_000);
      expect(runner.stderr()).not.toContain("cannot start");
    } finally {
      runner.child.kill("SIGKILL");
      await runner.exited;
      await slow.close();
    }
  }, 120_000);
});

describe("a standalone function with a broken setting", () => {
  let port: number;
  beforeAll(async () => {
    port = await freePort();
  });
  const fnEnv = (extra: Record<string, string>) => ({
    DATABASE_URL: h.databaseUrl,
    PORT: String(port),
    LOG_LEVEL: "info",
    ...extra,
  });

  it("without JWT_PUBLIC_KEY: names it (and JWT_JWKS_URL), no stack", async () => {
    const result = await runToExit(functionEntry("catalog"), fnEnv({}));
    expectFailureNaming(result, "JWT_PUBLIC_KEY", "catalog");
    expect(result.stderr).toContain("JWT_JWKS_URL");
  });

  it("with a malformed JWT_PUBLIC_KEY: names it", async () => {
    const result = await runToExit(
      functionEntry("catalog"),
      fnEnv({ JWT_PUBLIC_KEY: publicPem.replace(/[A-Za-z]{8}/, "AAAAAAAA") }),
    );
    expectFailureNaming(result, "JWT_PUBLIC_KEY", "catalog");
  });

  it("auth with a malformed JWT_PRIVATE_KEY: names it, not pkcs8 or DOMException", async () => {
    const result = await runToExit(
      functionEntry("auth"),
      fnEnv({
        JWT_PUBLIC_KEY: publicPem,
        JWT_PRIVATE_KEY:
          "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----",
      }),
    );
    expectFailureNaming(result, "JWT_PRIVATE_KEY", "auth");
    expect(result.stderr + result.stdout).not.toMatch(/pkcs8|DOMException/i);
  });

  it("with DATABASE_URL at a closed port: names DATABASE_URL", async () => {
    const closed = await freePort();
    const result = await runToExit(
      functionEntry("catalog"),
      fnEnv({
        DATABASE_URL: `postgres://postgres@127.0.0.1:${closed}/minispod`,
        JWT_PUBLIC_KEY: publicPem,
      }),
    );
    expectFailureNaming(result, "DATABASE_URL", "catalog");
  });
});
