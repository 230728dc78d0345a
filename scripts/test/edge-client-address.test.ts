import { mkdtempSync, readFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { functions } from "../src/local/functions";
import { createLocalRunner, type LocalRunner } from "../src/local/runner";

/**
 * Spoofed X-Forwarded-For must not mint new rate-limit buckets: with nothing in
 * front (`npm start`'s default, 0 trusted hops) and with the production
 * overlay's setting behind the documented chain (Traefik -> Kourier ->
 * activator? -> queue-proxy on loopback), replayed over real sockets. The
 * runner listens on 127.0.0.1, which is also the peer a function sees behind
 * its queue-proxy.
 */
const knative = fileURLToPath(new URL("../../knative/", import.meta.url));

/** The minispod-config the production overlay renders: base data, then the overlay's literals. */
function productionConfig(): Record<string, string> {
  const base = parse(readFileSync(join(knative, "base/config.yaml"), "utf8")) as {
    data: Record<string, string>;
  };
  const overlay = parse(
    readFileSync(join(knative, "overlays/production/kustomization.yaml"), "utf8"),
  ) as {
    configMapGenerator?: { name: string; literals?: string[] }[];
  };
  const data = { ...base.data };
  for (const generator of overlay.configMapGenerator ?? []) {
    if (generator.name !== "minispod-config") continue;
    for (const literal of generator.literals ?? []) {
      const at = literal.indexOf("=");
      data[literal.slice(0, at)] = literal.slice(at + 1);
    }
  }
  return data;
}

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
}, 60_000);
afterAll(() => h?.close());

interface Served {
  runner: LocalRunner;
  base: string;
  close(): Promise<void>;
}

async function startRunner(env: Record<string, string>): Promise<Served> {
  const runner = await createLocalRunner({
    source: {
      DATABASE_URL: h.databaseUrl,
      DATA_DIR: mkdtempSync(join(tmpdir(), "minispod-client-address-")),
      LOCAL_CRON: "false",
      LOG_LEVEL: "silent",
      BCRYPT_COST: "4",
      ADMIN_PASSWORD: "admin password 1",
      ...env,
    },
    functions,
  });
  const server = serve({ fetch: runner.app.fetch, port: 0, hostname: "127.0.0.1" }) as Server;
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    runner,
    base: `http://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runner.close();
    },
  };
}

let registrations = 0;
function register(served: Served, forwardedFor?: string) {
  registrations++;
  return fetch(`${served.base}/api/v1/auth/register`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(forwardedFor ? { "x-forwarded-for": forwardedFor } : {}),
    },
    body: JSON.stringify({
      email: `xff-${registrations}-${Date.now()}@example.com`,
      password: "a long enough password",
      name: "Spoofer",
    }),
  });
}

describe("npm start (nothing in front: 0 trusted hops by default)", () => {
  let served: Served;
  beforeAll(async () => {
    served = await startRunner({});
  }, 120_000);
  afterAll(() => served?.close());

  it("ignores X-Forwarded-For: a new value after the limit is still the same bucket", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await register(served)).status);
    expect(statuses).toEqual([201, 201, 201, 201, 201]);
    expect((await register(served)).status).toBe(429);
    for (const spoof of ["203.0.113.1", "198.51.100.2, 203.0.113.3", "::1", "10.0.0.1"]) {
      const res = await register(served, spoof);
      expect(res.status).toBe(429);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    }
  }, 60_000);
});

describe("the production overlay's setting behind Traefik -> Kourier -> activator -> queue-proxy", () => {
  const config = productionConfig();
  let served: Served;
  beforeAll(async () => {
    served = await startRunner({
      TRUST_PROXY_HOPS: config.TRUST_PROXY_HOPS ?? "",
      TRUSTED_PROXIES: config.TRUSTED_PROXIES ?? "",
    });
  }, 120_000);
  afterAll(() => served?.close());

  // What reaches the function: [what the client sent,] the address Traefik saw,
  // then the Kourier pod (appended by the activator, if in the path) and the
  // activator or Kourier pod (appended by the queue-proxy); the peer is 127.0.0.1.
  const warm = (client: string, spoof?: string) =>
    [spoof, client, "10.42.1.17"].filter(Boolean).join(", ");
  const cold = (client: string, spoof?: string) =>
    [spoof, client, "10.42.1.17", "10.42.0.9"].filter(Boolean).join(", ");

  it("is set (not left to the default) in the overlay", () => {
    expect(config.TRUSTED_PROXIES).toMatch(/10\.42\.0\.0\/16/);
  });

  it("counts the client Traefik saw, warm or cold, whatever the client prepends", async () => {
    const client = "203.0.113.50";
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const chain = i % 2 === 0 ? warm(client, `192.0.2.${i}`) : cold(client);
      statuses.push((await register(served, chain)).status);
    }
    expect(statuses).toEqual([201, 201, 201, 201, 201]);
    for (const chain of [
      warm(client),
      cold(client),
      warm(client, "198.51.100.9"),
      cold(client, "198.51.100.10, 10.42.5.5"),
      warm(client, "127.0.0.1"),
    ]) {
      expect((await register(served, chain)).status).toBe(429);
    }
  }, 60_000);

  it("still gives a different real client its own bucket", async () => {
    expect((await register(served, warm("198.51.100.77"))).status).toBe(201);
    expect((await register(served, cold("198.51.100.78", "203.0.113.50"))).status).toBe(201);
  }, 30_000);
});
