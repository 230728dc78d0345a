import { randomUUID } from "node:crypto";
import { defaultClusterConfig } from "@minispod/cluster";
import { createSimulatedCluster } from "@minispod/cluster/simulated";
import {
  auditLog,
  backupRestores,
  backups,
  instanceVolumes,
  outboxEvents,
  serviceInstances,
  subscriptions,
} from "@minispod/db";
import { runRouteSecurityTests } from "@minispod/shared/testing";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InstancesTest, type Made, makeInstance, setupInstances } from "./helpers";

/** An app that keeps data, with a daily schedule like the demo catalog's. */
const withStorage = {
  name: "Gitea",
  storage: "1Gi",
  storageMountPath: "/data",
  workload: { backups: { schedule: "daily" as const, keep: 3 } },
};

interface BackupBody {
  id: string;
  instanceId: string;
  userId: string;
  kind: string;
  status: string;
  sizeBytes: number | null;
  error: string | null;
}

let t: InstancesTest;
let mine: Made;
let theirs: Made;

beforeAll(async () => {
  t = await setupInstances();
  mine = await makeInstance(t, t.customer, "RUNNING", withStorage);
  theirs = await makeInstance(t, t.other, "RUNNING", withStorage);
});
afterAll(() => t.h.close());

const base = (made: Made | string) =>
  `/api/v1/instances/${typeof made === "string" ? made : made.id}/backups`;
const json = { "content-type": "application/json" };
const backUp = (made: Made, user = t.customer, headers: Record<string, string> = {}) =>
  t.app.request(base(made), { method: "POST", headers: { ...t.h.bearer(user), ...headers } });
const list = (made: Made, user = t.customer, query = "") =>
  t.app.request(`${base(made)}${query}`, { headers: t.h.bearer(user) });
const restore = (made: Made, backupId: string, body: unknown = {}, user = t.customer) =>
  t.app.request(`${base(made)}/${backupId}/restore`, {
    method: "POST",
    headers: { ...t.h.bearer(user), ...json },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

/** A backup as the provisioner leaves it once its snapshot is ready. */
async function readyBackup(made: Made, sizeBytes = 1024): Promise<string> {
  const id = randomUUID();
  await t.h.database.db.insert(backups).values({
    id,
    instanceId: made.id,
    userId: made.userId,
    kind: "SCHEDULED",
    status: "READY",
    snapshotName: `b-${id}`,
    sizeBytes,
    readyAt: new Date(),
  });
  return id;
}

const eventsOf = (type: string, subject: string) =>
  t.h.database.db
    .select()
    .from(outboxEvents)
    .where(and(eq(outboxEvents.type, `dev.minispod.${type}`), eq(outboxEvents.subject, subject)));

describe("POST /api/v1/instances/:id/backups", () => {
  it("records a PENDING on-demand backup, announces it to the provisioner and audits it", async () => {
    const made = await makeInstance(t, t.customer, "RUNNING", withStorage);
    const response = await backUp(made);
    expect(response.status).toBe(202);
    const body = (await response.json()) as BackupBody;
    expect(body).toMatchObject({
      instanceId: made.id,
      userId: t.customer.id,
      kind: "ON_DEMAND",
      status: "PENDING",
      sizeBytes: null,
    });
    const [event] = await eventsOf("backup.requested", body.id);
    expect(event?.data).toMatchObject({
      backupId: body.id,
      instanceId: made.id,
      kind: "ON_DEMAND",
    });
    const audits = await t.h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.resourceId, body.id), eq(auditLog.action, "backup.requested")));
    expect(audits).toHaveLength(1);
    expect(audits[0]?.ownerId).toBe(t.customer.id);
  });

  it("refuses a second backup while one is being taken (409)", async () => {
    const made = await makeInstance(t, t.customer, "RUNNING", withStorage);
    expect((await backUp(made)).status).toBe(202);
    const second = await backUp(made);
    expect(second.status).toBe(409);
    expect(((await second.json()) as { detail: string }).detail).toMatch(/being taken/);
  });

  it("replays the answer for the same Idempotency-Key instead of taking a second backup", async () => {
    const made = await makeInstance(t, t.customer, "RUNNING", withStorage);
    const key = { "idempotency-key": `backup-${randomUUID()}` };
    const first = await backUp(made, t.customer, key);
    const again = await backUp(made, t.customer, key);
    expect(again.status).toBe(202);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual(await first.json());
    const rows = await t.h.database.db
      .select()
      .from(backups)
      .where(eq(backups.instanceId, made.id));
    expect(rows).toHaveLength(1);
  });

  it("answers 409 for an app that keeps no data, and for an instance without a volume yet", async () => {
    const stateless = await makeInstance(t, t.customer, "RUNNING");
    const a = await backUp(stateless);
    expect(a.status).toBe(409);
    expect(((await a.json()) as { detail: string }).detail).toMatch(/keeps no data/);
    const pending = await makeInstance(t, t.customer, "PENDING", withStorage);
    expect((await backUp(pending)).status).toBe(409);
  });

  it("preflight: refuses storage that cannot snapshot in plain words (422) and counts it for the alert", async () => {
    const localPath = createSimulatedCluster({
      db: t.h.database.db,
      config: defaultClusterConfig,
      delayMs: 0,
      snapshots: false,
    });
    const app = t.appWith(localPath);
    const made = await makeInstance(t, t.customer, "RUNNING", withStorage);
    const response = await app.request(base(made), {
      method: "POST",
      headers: t.h.bearer(t.customer),
    });
    expect(response.status).toBe(422);
    expect(response.headers.get("content-type")).toMatch(/application\/problem\+json/);
    const problem = (await response.json()) as { code: string; detail: string };
    expect(problem.code).toBe("UNPROCESSABLE");
    expect(problem.detail).toMatch(/storage cannot take snapshots/);
    expect(problem.detail).toMatch(/local-path/);
    const rows = await t.h.database.db
      .select()
      .from(backups)
      .where(eq(backups.instanceId, made.id));
    expect(rows).toEqual([]);
    const metrics = await (await app.request("/metrics")).text();
    expect(metrics).toMatch(
      /minispod_backup_preflight_refusals_total\{storage_class="local-path"[^}]*\} 1/,
    );
  });

  it("answers 404 for another customer's instance and for an unknown one, 400 for a malformed id", async () => {
    expect((await backUp(theirs)).status).toBe(404);
    const unknown = await t.app.request(base(randomUUID()), {
      method: "POST",
      headers: t.h.bearer(t.customer),
    });
    expect(unknown.status).toBe(404);
    const malformed = await t.app.request(base("not-a-uuid"), {
      method: "POST",
      headers: t.h.bearer(t.customer),
    });
    expect(malformed.status).toBe(400);
  });

  it("answers 403 to an admin: only the owner backs up", async () => {
    const response = await backUp(mine, t.admin);
    expect(response.status).toBe(403);
  });

  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
    method: "POST",
    path: () => base(mine),
    roles: ["CUSTOMER"],
  });
});

describe("GET /api/v1/instances/:id/backups and /:backupId", () => {
  it("lists the instance's backups newest first with size and state, paged", async () => {
    const made = await makeInstance(t, t.customer, "RUNNING", withStorage);
    const older = await readyBackup(made, 2048);
    await new Promise((r) => setTimeout(r, 5));
    const newer = await readyBackup(made, 4096);
    const first = await list(made, t.customer, "?limit=1");
    expect(first.status).toBe(200);
    const page = (await first.json()) as { items: BackupBody[]; nextCursor: string | null };
    expect(page.items.map((b) => [b.id, b.sizeBytes, b.status])).toEqual([[newer, 4096, "READY"]]);
    expect(page.nextCursor).not.toBeNull();
    const rest = (await (
      await list(made, t.customer, `?limit=1&cursor=${page.nextCursor}`)
    ).json()) as { items: BackupBody[] };
    expect(rest.items.map((b) => b.id)).toEqual([older]);
  });

  it("shows one backup; an admin may read it; another customer gets 404", async () => {
    const id = await readyBackup(mine);
    const mineRead = await t.app.request(`${base(mine)}/${id}`, {
      headers: t.h.bearer(t.customer),
    });
    expect(mineRead.status).toBe(200);
    expect(((await mineRead.json()) as BackupBody).id).toBe(id);
    const admin = await t.app.request(`${base(mine)}/${id}`, { headers: t.h.bearer(t.admin) });
    expect(admin.status).toBe(200);
    const other = await t.app.request(`${base(mine)}/${id}`, { headers: t.h.bearer(t.other) });
    expect(other.status).toBe(404);
    expect((await list(mine, t.other)).status).toBe(404);
  });

  it("answers 404 for a backup of another instance and 400 for a malformed backup id or cursor", async () => {
    const theirsBackup = await readyBackup(theirs);
    const crossed = await t.app.request(`${base(mine)}/${theirsBackup}`, {
      headers: t.h.bearer(t.customer),
    });
    expect(crossed.status).toBe(404);
    const malformed = await t.app.request(`${base(mine)}/nope`, {
      headers: t.h.bearer(t.customer),
    });
    expect(malformed.status).toBe(400);
    expect((await list(mine, t.customer, "?limit=0")).status).toBe(400);
  });

  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
    method: "GET",
    path: () => base(mine),
  });
});

describe("DELETE /api/v1/instances/:id/backups/:backupId", () => {
  it("marks a ready backup DELETING and asks the provisioner to delete its snapshot", async () => {
    const id = await readyBackup(mine);
    const response = await t.app.request(`${base(mine)}/${id}`, {
      method: "DELETE",
      headers: t.h.bearer(t.customer),
    });
    expect(response.status).toBe(202);
    expect(((await response.json()) as BackupBody).status).toBe("DELETING");
    expect(await eventsOf("backup.deletion_requested", id)).toHaveLength(1);
  });

  it("refuses to delete a backup still being taken (409), another customer's is 404, an admin's try 403", async () => {
    const made = await makeInstance(t, t.customer, "RUNNING", withStorage);
    const pending = (await (await backUp(made)).json()) as BackupBody;
    const response = await t.app.request(`${base(made)}/${pending.id}`, {
      method: "DELETE",
      headers: t.h.bearer(t.customer),
    });
    expect(response.status).toBe(409);
    const theirsBackup = await readyBackup(theirs);
    const other = await t.app.request(`${base(theirs)}/${theirsBackup}`, {
      method: "DELETE",
      headers: t.h.bearer(t.customer),
    });
    expect(other.status).toBe(404);
    const admin = await t.app.request(`${base(theirs)}/${theirsBackup}`, {
      method: "DELETE",
      headers: t.h.bearer(t.admin),
    });
    expect(admin.status).toBe(403);
  });

  it("refuses to delete a backup while a restore from it runs (409)", async () => {
    const made = await makeInstance(t, t.customer, "RUNNING", withStorage);
    const id = await readyBackup(made);
    expect((await restore(made, id)).status).toBe(202);
    const response = await t.app.request(`${base(made)}/${id}`, {
      method: "DELETE",
      headers: t.h.bearer(t.customer),
    });
    expect(response.status).toBe(409);
    expect(((await response.json()) as { detail: string }).detail).toMatch(/being restored/);
  });

  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
    method: "DELETE",
    path: () => `${base(mine)}/${randomUUID()}`,
    roles: ["CUSTOMER"],
  });
});

describe("POST /api/v1/instances/:id/backups/:backupId/restore", () => {
  it("restores into the same instance: a PENDING restore, announced and audited", async () => {
    const made = await makeInstance(t, t.customer, "RUNNING", withStorage);
    const id = await readyBackup(made);
    const response = await restore(made, id);
    expect(response.status).toBe(202);
    const body = (await response.json()) as { id: string; target: string; status: string };
    // Where to follow it.
    expect(response.headers.get("location")).toBe(
      `/api/v1/instances/${made.id}/restores/${body.id}`,
    );
    expect(body).toMatchObject({
      target: "SAME_INSTANCE",
      status: "PENDING",
      targetInstanceId: made.id,
    });
    const [event] = await eventsOf("backup.restore_requested", body.id);
    expect(event?.data).toMatchObject({ backupId: id, targetInstanceId: made.id });
    // One restore into an instance at a time.
    expect((await restore(made, id)).status).toBe(409);
  });

  it("409 while the volume the last restore replaced is still being kept (one replaced volume at a time)", async () => {
    const made = await makeInstance(t, t.customer, "RUNNING", withStorage);
    const id = await readyBackup(made);
    // What the provisioner leaves after a restore, until the sweep keeps the old volume.
    await t.h.database.db
      .insert(instanceVolumes)
      .values({ instanceId: made.id, generation: 1, previousGeneration: 0, sourceSnapshot: "b-x" });
    const response = await restore(made, id);
    expect(response.status).toBe(409);
    expect(((await response.json()) as { detail: string }).detail).toMatch(
      /still being settled.*Try again in a few minutes/,
    );
    expect(
      await t.h.database.db
        .select()
        .from(backupRestores)
        .where(eq(backupRestores.targetInstanceId, made.id)),
    ).toEqual([]);
    // Settled (the old volume kept as a backup and gone): restores are accepted again.
    await t.h.database.db
      .update(instanceVolumes)
      .set({ previousGeneration: null })
      .where(eq(instanceVolumes.instanceId, made.id));
    expect((await restore(made, id)).status).toBe(202);
  });

  it("restores into another instance of the same app (a new subscription's)", async () => {
    const made = await makeInstance(t, t.customer, "RUNNING", withStorage);
    const id = await readyBackup(made);
    // A second subscription to the same catalog entry.
    const [sub] = await t.h.database.db
      .select()
      .from(subscriptions)
      .where(eq(subscriptions.id, made.subscriptionId));
    const fresh = await makeInstance(t, t.customer, "RUNNING", withStorage);
    await t.h.database.db
      .update(subscriptions)
      .set({ serviceId: sub!.serviceId })
      .where(eq(subscriptions.id, fresh.subscriptionId));
    const response = await restore(made, id, { targetInstanceId: fresh.id });
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({
      target: "NEW_INSTANCE",
      targetInstanceId: fresh.id,
    });
  });

  it("refuses a backup that is not ready (409), another app's or another customer's target (422)", async () => {
    const made = await makeInstance(t, t.customer, "RUNNING", withStorage);
    const pending = (await (await backUp(made)).json()) as BackupBody;
    expect((await restore(made, pending.id)).status).toBe(409);
    const id = await readyBackup(made);
    const otherApp = await makeInstance(t, t.customer, "RUNNING", withStorage);
    const a = await restore(made, id, { targetInstanceId: otherApp.id });
    expect(a.status).toBe(422);
    expect(((await a.json()) as { detail: string }).detail).toMatch(/can only be restored into/);
    expect((await restore(made, id, { targetInstanceId: theirs.id })).status).toBe(422);
  });

  it("validates the body: a malformed targetInstanceId or JSON is 400", async () => {
    const id = await readyBackup(mine);
    const bad = await restore(mine, id, { targetInstanceId: "x" });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { errors: { field: string }[] };
    expect(body.errors.map((e) => e.field)).toContain("targetInstanceId");
    expect((await restore(mine, id, "{not json")).status).toBe(400);
  });

  it("answers 404 for another customer's backup and 403 to an admin", async () => {
    const theirsBackup = await readyBackup(theirs);
    expect((await restore(theirs, theirsBackup)).status).toBe(404);
    expect((await restore(theirs, theirsBackup, {}, t.admin)).status).toBe(403);
  });

  it("restores a purged instance's retained backup only into another instance", async () => {
    const made = await makeInstance(t, t.customer, "RUNNING", withStorage);
    const id = await readyBackup(made);
    await t.h.database.db
      .update(serviceInstances)
      .set({ status: "DELETED" })
      .where(eq(serviceInstances.id, made.id));
    expect((await restore(made, id)).status).toBe(409);
  });

  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
    method: "POST",
    path: () => `${base(mine)}/${randomUUID()}/restore`,
    body: {},
    roles: ["CUSTOMER"],
  });
});

describe("GET /api/v1/instances/:id/restores[/:restoreId]", () => {
  const restores = (made: Made, user = t.customer, suffix = "") =>
    t.app.request(`/api/v1/instances/${made.id}/restores${suffix}`, { headers: t.h.bearer(user) });

  it("follows a restore from PENDING to FAILED with the reason in plain words", async () => {
    const made = await makeInstance(t, t.customer, "RUNNING", withStorage);
    const id = await readyBackup(made);
    const accepted = await restore(made, id);
    const location = accepted.headers.get("location")!;
    const created = (await accepted.json()) as { id: string };
    const pending = await t.app.request(location, { headers: t.h.bearer(t.customer) });
    expect(pending.status).toBe(200);
    expect(await pending.json()).toMatchObject({
      id: created.id,
      backupId: id,
      targetInstanceId: made.id,
      target: "SAME_INSTANCE",
      status: "PENDING",
      error: null,
      finishedAt: null,
    });
    // As the provisioner finishes it.
    await t.h.database.db
      .update(backupRestores)
      .set({
        status: "FAILED",
        error: "The cluster refused the restored volume.",
        finishedAt: new Date(),
      })
      .where(eq(backupRestores.id, created.id));
    const failed = (await (await restores(made, t.customer, `/${created.id}`)).json()) as {
      status: string;
      error: string;
      finishedAt: string | null;
    };
    expect(failed.status).toBe("FAILED");
    expect(failed.error).toBe("The cluster refused the restored volume.");
    expect(failed.finishedAt).not.toBeNull();
  });

  it("lists the restores into the instance, newest first, in pages", async () => {
    const made = await makeInstance(t, t.customer, "RUNNING", withStorage);
    const id = await readyBackup(made);
    const first = (await (await restore(made, id)).json()) as { id: string };
    await t.h.database.db
      .update(backupRestores)
      .set({ status: "DONE", finishedAt: new Date() })
      .where(eq(backupRestores.id, first.id));
    const second = (await (await restore(made, id)).json()) as { id: string };
    const page = (await (await restores(made, t.customer, "?limit=1")).json()) as {
      items: { id: string; status: string }[];
      nextCursor: string | null;
    };
    expect(page.items.map((r) => r.id)).toEqual([second.id]);
    expect(page.nextCursor).not.toBeNull();
    const next = (await (
      await restores(made, t.customer, `?limit=1&cursor=${page.nextCursor}`)
    ).json()) as { items: { id: string; status: string }[] };
    expect(next.items).toEqual([expect.objectContaining({ id: first.id, status: "DONE" })]);
  });

  it("404 for an unknown restore and for one into another instance", async () => {
    const made = await makeInstance(t, t.customer, "RUNNING", withStorage);
    const elsewhere = await makeInstance(t, t.customer, "RUNNING", withStorage);
    const id = await readyBackup(made);
    const created = (await (await restore(made, id)).json()) as { id: string };
    expect((await restores(made, t.customer, `/${randomUUID()}`)).status).toBe(404);
    expect((await restores(elsewhere, t.customer, `/${created.id}`)).status).toBe(404);
    expect((await restores(made, t.customer, "/not-a-uuid")).status).toBe(400);
  });

  it("another customer's instance answers 404, an admin 403 (the data is the customer's)", async () => {
    const id = await readyBackup(theirs);
    const [row] = await t.h.database.db
      .insert(backupRestores)
      .values({
        backupId: id,
        targetInstanceId: theirs.id,
        target: "SAME_INSTANCE",
        status: "DONE",
      })
      .returning();
    expect((await restores(theirs)).status).toBe(404);
    expect((await restores(theirs, t.customer, `/${row!.id}`)).status).toBe(404);
    expect((await restores(theirs, t.admin)).status).toBe(403);
    expect((await restores(theirs, t.admin, `/${row!.id}`)).status).toBe(403);
    // The owner reads it.
    expect((await restores(theirs, t.other, `/${row!.id}`)).status).toBe(200);
  });

  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
    method: "GET",
    path: () => `/api/v1/instances/${mine.id}/restores`,
    roles: ["CUSTOMER"],
  });
  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
    method: "GET",
    path: () => `/api/v1/instances/${mine.id}/restores/${randomUUID()}`,
    roles: ["CUSTOMER"],
  });
});
