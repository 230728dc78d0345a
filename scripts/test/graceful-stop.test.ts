import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDb, idempotencyKeys } from "@minispod/db";
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, repoRoot } from "./support/process";

/**
 * SIGTERM to the process group of `npm start` (what Ctrl-C in a terminal or a
 * process manager sends) on PGlite, with 50 requests in flight: each gets its
 * answer, none is reset, and no Idempotency-Key is left IN_PROGRESS.
 * PGlite runs its queries on the event loop, so connections wait in the
 * kernel's accept queue longer than on PostgreSQL; closing the port at once
 * used to reset them.
 */
const dataDir = mkdtempSync(join(tmpdir(), "minispod-graceful-"));
let npm: ChildProcess | undefined;

afterAll(() => {
  if (!npm?.pid) return;
  try {
    process.kill(-npm.pid, "SIGKILL");
  } catch {
    // The group is already gone.
  }
});

describe("npm start on PGlite, stopped with SIGTERM to its process group", () => {
  it("answers all 50 requests in flight, resets none, leaves no key IN_PROGRESS", async () => {
    const port = await freePort();
    const child = spawn("npm", ["start"], {
      cwd: repoRoot,
      detached: true,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        DATA_DIR: dataDir,
        PORT: String(port),
        HOST: "127.0.0.1",
        LOCAL_CRON: "false",
        BCRYPT_COST: "4",
        LOG_LEVEL: "warn",
        ADMIN_PASSWORD: "admin password 1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    npm = child;
    let out = "";
    child.stdout?.on("data", (chunk) => {
      out += chunk;
    });
    child.stderr?.on("data", (chunk) => {
      out += chunk;
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    for (let i = 0; i < 2400 && !out.includes("minispod is running"); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain("minispod is running");

    const base = `http://127.0.0.1:${port}/api/v1`;
    const email = `graceful-${randomUUID().slice(0, 8)}@example.com`;
    const password = "a long enough password";
    const registered = await fetch(`${base}/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password, name: "Graceful" }),
    });
    expect(registered.status).toBe(201);
    const { accessToken } = (await registered.json()) as { accessToken: string };

    const keys = Array.from({ length: 50 }, () => randomUUID());
    const inFlight = keys.map((key, i) =>
      fetch(`${base}/subscriptions`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${accessToken}`,
          "idempotency-key": key,
        },
        body: JSON.stringify({ serviceSlug: i % 2 === 0 ? "uptime-kuma" : "gitea" }),
      }).then(
        async (res) => ({ status: res.status, body: await res.text() }),
        (error: unknown) => ({
          status: 0,
          body: String((error as { cause?: { code?: string } }).cause?.code ?? error),
        }),
      ),
    );
    await new Promise((r) => setTimeout(r, 100));
    process.kill(-child.pid!, "SIGTERM");
    const answers = await Promise.all(inFlight);

    const resets = answers.filter((a) => a.status === 0);
    expect(resets).toEqual([]);
    expect(answers.filter((a) => a.status >= 500)).toEqual([]);
    expect(answers.filter((a) => a.status === 201).length).toBeGreaterThan(0);
    await exited;
    // The server is gone too, not only npm.
    await new Promise((r) => setTimeout(r, 1000));
    await expect(fetch(`${base}/services`)).rejects.toThrow();

    const database = createDb(`pglite://${join(dataDir, "pglite")}`);
    try {
      const stuck = await database.db
        .select()
        .from(idempotencyKeys)
        .where(eq(idempotencyKeys.status, "IN_PROGRESS"));
      expect(stuck).toEqual([]);
      // Every subscription answered 201 has its key kept as COMPLETED (a replay gets the same answer).
      const completed = new Set(
        (await database.db.select().from(idempotencyKeys))
          .filter((row) => row.status === "COMPLETED")
          .map((row) => row.key),
      );
      const created = keys.filter((_, i) => answers[i]?.status === 201);
      expect(created.filter((key) => !completed.has(key))).toEqual([]);
    } finally {
      await database.close();
    }
  }, 240_000);
});
