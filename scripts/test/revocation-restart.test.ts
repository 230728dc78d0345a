import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, runnerEntry, type Spawned, spawnEntry } from "./support/process";

/**
 * `npm start` on PGlite with no Redis: revocation marks (disable, role and
 * password change, log out everywhere) used to live only in memory, so after
 * a restart a disabled user's old access token worked again. Here the runner
 * is a real process, stopped and started again on the same DATA_DIR.
 */
const dataDir = mkdtempSync(join(tmpdir(), "minispod-revocation-"));
const ADMIN_PASSWORD = "admin password 1";
let port: number;
let runner: Spawned | undefined;

async function start() {
  port ??= await freePort();
  runner = spawnEntry(runnerEntry, {
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: "127.0.0.1",
    LOCAL_CRON: "false",
    BCRYPT_COST: "4",
    LOG_LEVEL: "warn",
    ADMIN_PASSWORD,
  });
  await runner.waitFor("minispod is running", 120_000);
}

async function stop() {
  if (!runner) return;
  runner.child.kill("SIGTERM");
  await runner.exited;
  runner = undefined;
}

afterAll(async () => {
  runner?.child.kill("SIGKILL");
  await runner?.exited;
});

const api = (path: string, init: RequestInit & { token?: string } = {}) =>
  fetch(`http://127.0.0.1:${port}/api/v1${path}`, {
    ...init,
    headers: {
      "content-type": "application/json",
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.headers as Record<string, string> | undefined),
    },
  });

async function login(email: string, password: string): Promise<string> {
  const res = await api("/auth/login", {
    method: "POST",
    body: JSON.stringify({ email, password }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

async function registerCustomer(): Promise<{ id: string; email: string; token: string }> {
  const email = `revoked-${randomUUID().slice(0, 8)}@example.com`;
  const password = "a long enough password";
  const res = await api("/auth/register", {
    method: "POST",
    body: JSON.stringify({ email, password, name: "Soon Disabled" }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const token = await login(email, password);
  const me = (await (await api("/auth/me", { token })).json()) as { id: string };
  return { id: me.id, email, token };
}

interface Operation {
  security?: unknown[];
}

/** Every operation of the merged document that requires a bearer token. */
async function securedOperations(): Promise<{ method: string; path: string }[]> {
  const doc = (await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, Operation>>;
  };
  const operations: { method: string; path: string }[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!op.security?.length) continue;
      // An empty requirement ({}) means the token is optional there.
      if (op.security.some((s) => Object.keys(s as object).length === 0)) continue;
      operations.push({
        method: method.toUpperCase(),
        path: path.replace(/\{[^}]+\}/g, randomUUID()),
      });
    }
  }
  return operations;
}

describe("npm start on PGlite: revocation survives a restart", () => {
  it("a disabled user's old token is refused on every secured route after the restart", async () => {
    await start();
    const customer = await registerCustomer();
    expect((await api("/subscriptions", { token: customer.token })).status).toBe(200);

    const admin = await login("admin@minispod.local", ADMIN_PASSWORD);
    const disabled = await api(`/admin/users/${customer.id}/disable`, {
      method: "POST",
      token: admin,
      body: JSON.stringify({ reason: "revocation restart test" }),
    });
    expect(disabled.status, await disabled.clone().text()).toBe(200);
    expect((await api("/subscriptions", { token: customer.token })).status).toBe(401);

    await stop();
    await start();

    const operations = await securedOperations();
    expect(operations.length).toBeGreaterThan(30);
    const accepted: string[] = [];
    for (const { method, path } of operations) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${customer.token}`,
          "content-type": "application/json",
          "idempotency-key": randomUUID(),
        },
        ...(method === "GET" || method === "DELETE" ? {} : { body: "{}" }),
      });
      if (res.status !== 401) accepted.push(`${method} ${path} -> ${res.status}`);
      else expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      await res.body?.cancel();
    }
    expect(accepted).toEqual([]);
    // The admin's own token (never revoked) still works: the refusal is the mark, not the restart.
    expect((await api("/admin/users", { token: admin })).status).toBe(200);
  }, 240_000);

  it("logging out everywhere before a restart keeps the old token refused after it", async () => {
    if (!runner) await start();
    const customer = await registerCustomer();
    const out = await api("/auth/logout/all", { method: "POST", token: customer.token });
    expect(out.status, await out.clone().text()).toBeLessThan(300);
    await stop();
    await start();
    expect((await api("/subscriptions", { token: customer.token })).status).toBe(401);
    expect((await api("/auth/me", { token: customer.token })).status).toBe(401);
  }, 240_000);
});
