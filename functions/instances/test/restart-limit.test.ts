import type { ClusterPort } from "@minispod/cluster";
import { auditLog } from "@minispod/db";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { instancesFunction } from "../src/function";
import { type InstancesTest, makeInstance, setupInstances } from "./helpers";

/** Restarts per instance: one at a time, INSTANCE_RESTART_LIMIT per INSTANCE_RESTART_WINDOW. */
let t: InstancesTest;
beforeAll(async () => {
  t = await setupInstances();
});
afterAll(() => t.h.close());

function appWithLimit(limit: number, cluster: ClusterPort = t.cluster) {
  const deps = {
    ...t.h.context(instancesFunction, {
      INSTANCE_RESTART_LIMIT: String(limit),
      INSTANCE_RESTART_WINDOW: "1h",
    }),
    cluster,
  };
  return createApp(deps as Parameters<typeof createApp>[0]);
}

const restart = (app: ReturnType<typeof createApp>, id: string, user = t.customer) =>
  app.request(`/api/v1/instances/${id}/restart`, {
    method: "POST",
    headers: t.h.bearer(user),
  });

async function auditedRestarts(id: string) {
  const rows = await t.h.database.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.resourceId, id), eq(auditLog.action, "instance.restarted")));
  return rows.length;
}

describe("restart limit per instance", () => {
  it("answers 429 problem+json with Retry-After past the limit, and restarts nothing more", async () => {
    const app = appWithLimit(3);
    const made = await makeInstance(t, t.customer);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await restart(app, made.id)).status);
    expect(statuses).toEqual([202, 202, 202]);
    const refused = await restart(app, made.id);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toContain("application/problem+json");
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    const problem = (await refused.json()) as { status: number; detail: string };
    expect(problem.status).toBe(429);
    expect(problem.detail).toContain("3 times per 60 min");
    expect(await auditedRestarts(made.id)).toBe(3);
  });

  it("counts per instance: another instance of the same customer still restarts", async () => {
    const app = appWithLimit(1);
    const first = await makeInstance(t, t.customer);
    const second = await makeInstance(t, t.customer);
    expect((await restart(app, first.id)).status).toBe(202);
    expect((await restart(app, first.id)).status).toBe(429);
    expect((await restart(app, second.id)).status).toBe(202);
  });

  it("counts an administrator's restarts too (the limit protects the instance, not a caller)", async () => {
    const app = appWithLimit(2);
    const made = await makeInstance(t, t.customer);
    expect((await restart(app, made.id, t.admin)).status).toBe(202);
    expect((await restart(app, made.id)).status).toBe(202);
    expect((await restart(app, made.id, t.admin)).status).toBe(429);
  });

  it("lets one restart of an instance run at a time: a concurrent one gets 429", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const slow: ClusterPort = {
      ...t.cluster,
      restart: async (input) => {
        entered();
        await gate;
        return t.cluster.restart(input);
      },
    };
    const app = appWithLimit(10, slow);
    const made = await makeInstance(t, t.customer);
    const first = restart(app, made.id);
    await started;
    const second = await restart(app, made.id);
    expect(second.status).toBe(429);
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThan(0);
    release();
    expect((await first).status).toBe(202);
    // Once it finished, the next one is accepted.
    expect((await restart(app, made.id)).status).toBe(202);
  });

  it("with INSTANCE_RESTART_LIMIT=0 has no hourly limit", async () => {
    const app = appWithLimit(0);
    const made = await makeInstance(t, t.customer);
    for (let i = 0; i < 8; i++) expect((await restart(app, made.id)).status).toBe(202);
  });
});
