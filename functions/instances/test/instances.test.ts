import { ClusterError, type ClusterPort } from "@minispod/cluster";
import { auditLog, outboxEvents } from "@minispod/db";
import { runRouteSecurityTests } from "@minispod/shared/testing";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InstancesTest, type Made, makeInstance, setupInstances } from "./helpers";

let t: InstancesTest;
let mine: Made;
let theirs: Made;
beforeAll(async () => {
  t = await setupInstances();
  mine = await makeInstance(t, t.customer);
  theirs = await makeInstance(t, t.other);
});
afterAll(() => t.h.close());

const get = (path: string, user = t.customer) => t.app.request(path, { headers: t.h.bearer(user) });
const post = (path: string, user = t.customer) =>
  t.app.request(path, { method: "POST", headers: t.h.bearer(user) });

interface ListBody {
  items: { id: string; userId: string; status: string; url: string | null }[];
  nextCursor: string | null;
}

describe("GET /api/v1/instances", () => {
  it("lists the customer's own instances, newest first, in cursor pages", async () => {
    const user = await t.h.user();
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await makeInstance(t, user));
    const first = await get("/api/v1/instances?limit=2", user);
    expect(first.status).toBe(200);
    const page1 = (await first.json()) as ListBody;
    expect(page1.items.map((i) => i.id)).toEqual([made[2]!.id, made[1]!.id]);
    expect(page1.nextCursor).not.toBeNull();
    const page2 = (await (
      await get(`/api/v1/instances?limit=2&cursor=${page1.nextCursor}`, user)
    ).json()) as ListBody;
    expect(page2.items.map((i) => i.id)).toEqual([made[0]!.id]);
    expect(page2.nextCursor).toBeNull();
  });

  it("never shows another customer's instances", async () => {
    const body = (await (await get("/api/v1/instances?limit=100")).json()) as ListBody;
    expect(body.items.every((i) => i.userId === t.customer.id)).toBe(true);
    expect(body.items.map((i) => i.id)).toContain(mine.id);
  });

  it("filters by status", async () => {
    const user = await t.h.user();
    const suspended = await makeInstance(t, user, "SUSPENDED");
    await makeInstance(t, user, "RUNNING");
    const body = (await (await get("/api/v1/instances?status=SUSPENDED", user)).json()) as ListBody;
    expect(body.items.map((i) => i.id)).toEqual([suspended.id]);
  });

  it("lets an admin list everyone's or one customer's", async () => {
    const all = (await (await get("/api/v1/instances?limit=100", t.admin)).json()) as ListBody;
    expect(all.items.map((i) => i.id)).toEqual(expect.arrayContaining([mine.id, theirs.id]));
    const one = (await (
      await get(`/api/v1/instances?userId=${t.other.id}`, t.admin)
    ).json()) as ListBody;
    expect(one.items.map((i) => i.id)).toEqual([theirs.id]);
  });

  it("answers 403 to a customer asking for another customer's list", async () => {
    const response = await get(`/api/v1/instances?userId=${t.other.id}`);
    expect(response.status).toBe(403);
  });

  it.each([
    ["limit=0", "limit"],
    ["limit=abc", "limit"],
    ["status=BROKEN", "status"],
    ["userId=not-a-uuid", "userId"],
    ["cursor=garbage", "cursor"],
  ])("answers 400 to %s", async (query, field) => {
    const response = await get(`/api/v1/instances?${query}`);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors?: { field: string }[] };
    expect(body.errors?.map((e) => e.field)).toContain(field);
  });
});

describe("GET /api/v1/instances/:id", () => {
  it("shows the live status, the URL and the timeline", async () => {
    const response = await get(`/api/v1/instances/${mine.id}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      status: string;
      url: string;
      live: { phase: string; reason: string; events: { reason: string }[] };
      timeline: { status: string; message: string }[];
    };
    expect(body.status).toBe("RUNNING");
    expect(body.url).toBe(`https://i-${mine.id}.apps.localhost`);
    expect(body.live).toMatchObject({ phase: "running", reason: "running" });
    expect(body.live.events.map((e) => e.reason)).toContain("Started");
    expect(body.timeline.map((e) => e.status)).toEqual(["PENDING", "RUNNING"]);
  });

  it("records what the cluster says when it differs from the stored status", async () => {
    const starting = await makeInstance(t, t.customer, "PROVISIONING");
    const body = (await (await get(`/api/v1/instances/${starting.id}`)).json()) as {
      status: string;
      timeline: { status: string; message: string }[];
    };
    expect(body.status).toBe("RUNNING");
    expect(body.timeline.at(-1)).toMatchObject({ status: "RUNNING", message: "Running." });
    const events = await t.h.database.db
      .select()
      .from(outboxEvents)
      .where(eq(outboxEvents.subject, starting.id));
    expect(events.map((e) => e.type)).toEqual(["dev.minispod.instance.running"]);
  });

  it("shows the last recorded status when the cluster cannot be reached", async () => {
    const down: ClusterPort = {
      ...t.cluster,
      readStatus: () => Promise.reject(new ClusterError("unavailable", "connection refused")),
    };
    const response = await t.appWith(down).request(`/api/v1/instances/${mine.id}`, {
      headers: t.h.bearer(t.customer),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "RUNNING", live: null });
  });

  it("answers 404 for another customer's instance and for an unknown id", async () => {
    expect((await get(`/api/v1/instances/${theirs.id}`)).status).toBe(404);
    expect((await get(`/api/v1/instances/${crypto.randomUUID()}`)).status).toBe(404);
  });

  it("lets an admin see any instance", async () => {
    expect((await get(`/api/v1/instances/${theirs.id}`, t.admin)).status).toBe(200);
  });

  it("answers 400 to an id that is not a uuid", async () => {
    expect((await get("/api/v1/instances/nope")).status).toBe(400);
  });
});

describe("GET /api/v1/instances/:id/logs", () => {
  it("returns the pod's recent lines, limited by tail", async () => {
    t.h.clock.now = new Date(Date.now() + 10 * 60_000);
    try {
      const all = (await (await get(`/api/v1/instances/${mine.id}/logs`)).json()) as {
        pod: string;
        lines: string[];
      };
      expect(all.pod).toMatch(/^i-/);
      expect(all.lines.length).toBeGreaterThan(10);
      const tail = (await (await get(`/api/v1/instances/${mine.id}/logs?tail=2`)).json()) as {
        lines: string[];
      };
      expect(tail.lines).toEqual(all.lines.slice(-2));
      const since = (await (await get(`/api/v1/instances/${mine.id}/logs?since=60`)).json()) as {
        lines: string[];
      };
      expect(since.lines.length).toBeLessThanOrEqual(3);
      expect(since.lines.length).toBeGreaterThan(0);
    } finally {
      t.h.clock.now = new Date();
    }
  });

  it("has no lines (and no URL yet) for an instance that is not in the cluster", async () => {
    const pending = await makeInstance(t, t.customer, "PENDING");
    expect(await (await get(`/api/v1/instances/${pending.id}`)).json()).toMatchObject({
      status: "PENDING",
      url: null,
      live: null,
    });
    expect(await (await get(`/api/v1/instances/${pending.id}/logs`)).json()).toEqual({
      pod: null,
      lines: [],
    });
  });

  it.each(["tail=0", "tail=5001", "tail=x", "since=0", "since=999999999"])(
    "answers 400 to %s",
    async (query) => {
      expect((await get(`/api/v1/instances/${mine.id}/logs?${query}`)).status).toBe(400);
    },
  );

  it("answers 404 for another customer's instance; an admin may read any", async () => {
    expect((await get(`/api/v1/instances/${theirs.id}/logs`)).status).toBe(404);
    expect((await get(`/api/v1/instances/${theirs.id}/logs`, t.admin)).status).toBe(200);
  });

  it("answers 503 when the cluster cannot give the logs", async () => {
    const down: ClusterPort = {
      ...t.cluster,
      logs: () => Promise.reject(new ClusterError("timeout", "no answer in 10 s")),
    };
    const response = await t.appWith(down).request(`/api/v1/instances/${mine.id}/logs`, {
      headers: t.h.bearer(t.customer),
    });
    expect(response.status).toBe(503);
  });
});

describe("POST /api/v1/instances/:id/restart", () => {
  it("restarts with a new pod and notes it on the timeline", async () => {
    const made = await makeInstance(t, t.customer);
    const podBefore = (await t.cluster.logs({ customerId: made.userId, instanceId: made.id })).pod;
    const response = await post(`/api/v1/instances/${made.id}/restart`);
    expect(response.status).toBe(202);
    const body = (await response.json()) as { status: string; restartedAt: string };
    expect(body.status).toBe("PROVISIONING");
    expect(Number.isNaN(Date.parse(body.restartedAt))).toBe(false);
    const podAfter = (await t.cluster.logs({ customerId: made.userId, instanceId: made.id })).pod;
    expect(podAfter).not.toBe(podBefore);
    const shown = (await (await get(`/api/v1/instances/${made.id}`)).json()) as {
      status: string;
      timeline: { message: string }[];
    };
    expect(shown.timeline.map((e) => e.message)).toContain("Restarting, as asked by the customer.");
    // With no simulated delay the new pod is ready at once, and the read records it.
    expect(shown.status).toBe("RUNNING");
  });

  it("refuses (409) to restart a suspended or deleted instance", async () => {
    for (const status of ["SUSPENDED", "DELETED", "PENDING"] as const) {
      const made = await makeInstance(t, t.customer, status);
      const response = await post(`/api/v1/instances/${made.id}/restart`);
      expect(response.status).toBe(409);
    }
  });

  it("answers 404 for another customer's instance; an admin may restart any", async () => {
    expect((await post(`/api/v1/instances/${theirs.id}/restart`)).status).toBe(404);
    const response = await post(`/api/v1/instances/${theirs.id}/restart`, t.admin);
    expect(response.status).toBe(202);
    const shown = (await (await get(`/api/v1/instances/${theirs.id}`, t.admin)).json()) as {
      timeline: { message: string }[];
    };
    expect(shown.timeline.map((e) => e.message)).toContain(
      "Restarting, as asked by an administrator.",
    );
    // Acting on someone else's instance leaves a trace: who, on whose, through which request.
    const [audit] = await t.h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.resourceId, theirs.id), eq(auditLog.action, "instance.restarted")));
    expect(audit).toMatchObject({
      actorId: t.admin.id,
      actorRole: "ADMIN",
      ownerId: t.other.id,
      resourceType: "instance",
    });
    expect(audit?.metadata).toMatchObject({ ownerId: t.other.id });
    expect(audit?.requestId).toBeTruthy();
  });

  it("answers 400 to an id that is not a uuid", async () => {
    expect((await post("/api/v1/instances/x/restart")).status).toBe(400);
  });
});

describe("API description", () => {
  it("documents every instances route with its parameters and auth", async () => {
    const doc = (await (await t.app.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { parameters?: { name: string }[]; responses: object }>>;
    };
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/api/v1/instances",
      "/api/v1/instances/{id}",
      "/api/v1/instances/{id}/backups",
      "/api/v1/instances/{id}/backups/{backupId}",
      "/api/v1/instances/{id}/backups/{backupId}/restore",
      "/api/v1/instances/{id}/credentials",
      "/api/v1/instances/{id}/credentials/rotate",
      "/api/v1/instances/{id}/domains",
      "/api/v1/instances/{id}/domains/{domainId}",
      "/api/v1/instances/{id}/domains/{domainId}/verify",
      "/api/v1/instances/{id}/logs",
      "/api/v1/instances/{id}/restart",
      "/api/v1/instances/{id}/restores",
      "/api/v1/instances/{id}/restores/{restoreId}",
    ]);
    const logs = doc.paths["/api/v1/instances/{id}/logs"]!.get!;
    expect(logs.parameters?.map((p) => p.name).sort()).toEqual(["id", "since", "tail"]);
    expect(Object.keys(logs.responses)).toContain("401");
    const rotate = doc.paths["/api/v1/instances/{id}/credentials/rotate"]!.post!;
    expect(Object.keys(rotate.responses)).toEqual(expect.arrayContaining(["202", "403", "422"]));
    // The preflight's refusal and the Idempotency-Key are documented on "back up now".
    const backUp = doc.paths["/api/v1/instances/{id}/backups"]!.post!;
    expect(Object.keys(backUp.responses)).toEqual(
      expect.arrayContaining(["202", "401", "403", "404", "409", "422"]),
    );
    expect(backUp.parameters?.map((p) => p.name)).toContain("Idempotency-Key");
    // The restore answers where to follow it.
    const restore = doc.paths["/api/v1/instances/{id}/backups/{backupId}/restore"]!.post! as {
      responses: Record<string, { headers?: Record<string, unknown> }>;
    };
    expect(Object.keys(restore.responses["202"]?.headers ?? {})).toContain("Location");
  });
});

const routes = [
  { method: "GET", path: "/api/v1/instances" },
  { method: "GET", path: () => `/api/v1/instances/${mine.id}` },
  { method: "GET", path: () => `/api/v1/instances/${mine.id}/logs` },
  { method: "POST", path: () => `/api/v1/instances/${mine.id}/restart` },
] as const;
for (const route of routes) {
  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), { ...route });
}

describe("polling with ETags", () => {
  it("answers 304 without a body while the instance is unchanged, 200 again after a change", async () => {
    const first = await get(`/api/v1/instances/${mine.id}`);
    expect(first.status).toBe(200);
    const tag = first.headers.get("etag");
    expect(tag).toMatch(/^(W\/)?"[^"]+"$/);
    const again = await t.app.request(`/api/v1/instances/${mine.id}`, {
      headers: { ...t.h.bearer(t.customer), "if-none-match": tag! },
    });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    const stale = await t.app.request(`/api/v1/instances/${mine.id}`, {
      headers: { ...t.h.bearer(t.customer), "if-none-match": '"an-older-version"' },
    });
    expect(stale.status).toBe(200);
  });

  it("never answers 304 to another customer holding a valid tag: 404 first", async () => {
    const tag = (await get(`/api/v1/instances/${mine.id}`)).headers.get("etag")!;
    const res = await t.app.request(`/api/v1/instances/${mine.id}`, {
      headers: { ...t.h.bearer(t.other), "if-none-match": tag },
    });
    expect(res.status).toBe(404);
  });
});
