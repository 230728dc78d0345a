import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportKeyPem, generateSigningKey } from "@minispod/shared";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, functionEntry, jsonLines, runnerEntry, runToExit } from "./support/process";

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

/** Start-up is a few seconds of module loading plus at most the 5 s connection check. */
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
