import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localJourney } from "./support/journey";

/**
 * A customer looping on "restart" over HTTP, as `npm start` serves it: the
 * instance takes INSTANCE_RESTART_LIMIT restarts per window, then 429 with
 * Retry-After, and only the accepted ones reach the audit trail.
 */
const journey = localJourney("restart-limit", {
  K8S_SIMULATED_DELAY_MS: "0",
  INSTANCE_RESTART_LIMIT: "4",
});
let server: Server;
let base: string;
beforeAll(async () => {
  server = serve({ fetch: journey.runner.app.fetch, port: 0, hostname: "127.0.0.1" }) as Server;
  await new Promise<void>((resolve) => server.once("listening", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
});
afterAll(() => new Promise<void>((resolve) => server?.close(() => resolve())));

const post = (path: string, token: string, body: unknown = {}, headers = {}) =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...headers },
    body: JSON.stringify(body),
  });

describe("restarting one instance in a loop over HTTP", () => {
  it("accepts the limit, then answers 429 problem+json with Retry-After", async () => {
    const registered = await fetch(`${base}/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        email: "looper@example.com",
        password: "a long enough password",
        name: "Looper",
      }),
    });
    expect(registered.status).toBe(201);
    const { accessToken: token } = (await registered.json()) as { accessToken: string };
    const subscribed = await post(
      "/subscriptions",
      token,
      { serviceSlug: "uptime-kuma" },
      { "idempotency-key": "loop-1" },
    );
    expect(subscribed.status).toBe(201);
    await journey.runner.settle();
    const list = (await (
      await fetch(`${base}/instances`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { items: { id: string; status: string }[] };
    const instance = list.items[0];
    expect(instance).toBeDefined();

    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 12; i++) {
      const res = await post(`/instances/${instance!.id}/restart`, token);
      statuses.push(res.status);
      if (res.status === 429) refused ??= res;
      else await res.body?.cancel();
    }
    expect(statuses.slice(0, 4)).toEqual([202, 202, 202, 202]);
    expect(statuses.slice(4).every((s) => s === 429)).toBe(true);
    expect(refused?.headers.get("content-type")).toContain("application/problem+json");
    expect(Number(refused?.headers.get("retry-after"))).toBeGreaterThan(0);

    const trail = (await (
      await fetch(`${base}/audit?action=instance.restarted`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as { items: unknown[] };
    expect(trail.items).toHaveLength(4);
  }, 120_000);
});
