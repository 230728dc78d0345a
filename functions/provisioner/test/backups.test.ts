import { randomUUID } from "node:crypto";
import {
  ClusterError,
  type ClusterPort,
  defaultClusterConfig,
  type NamespaceSpec,
} from "@minispod/cluster";
import { createSimulatedCluster } from "@minispod/cluster/simulated";
import {
  backupRestores,
  backups,
  instanceVolumes,
  outboxEvents,
  serviceCatalog,
  simulatedNamespaces,
  simulatedSnapshots,
  simulatedVolumes,
} from "@minispod/db";
import { type EventType, fullType } from "@minispod/shared";
import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  activeSubscription,
  deliver,
  instanceRow,
  type ProvisionerTest,
  type Subscribed,
  seedService,
  setSubscriptionStatus,
  setupProvisioner,
  subscriptionEvent,
  timeline,
} from "./helpers";

let t: ProvisionerTest;
beforeAll(async () => {
  t = await setupProvisioner();
});
afterAll(() => t.h.close());

const db = () => t.h.database.db;
const DAY = 86_400_000;
const advance = (ms: number) => {
  t.h.clock.now = new Date(t.h.clock.now.getTime() + ms);
};

/** A RUNNING instance of an app that keeps data, with a daily schedule keeping `keep`. */
async function running(keep = 2): Promise<Subscribed> {
  const service = await seedService(db(), { workload: { backups: { schedule: "daily", keep } } });
  const s = await activeSubscription(t.h, { service });
  const response = await deliver(t.app, subscriptionEvent("subscription.activated", s));
  expect(response.status).toBe(200);
  expect((await instanceRow(db(), s.instanceId)).status).toBe("RUNNING");
  return s;
}

const cron = async (app = t.app) => {
  const response = await app.request("/cron/backups", { method: "POST" });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, number | boolean>;
};

const backupsOf = (instanceId: string) =>
  db()
    .select()
    .from(backups)
    .where(eq(backups.instanceId, instanceId))
    .orderBy(asc(backups.createdAt));

const volumesOf = async (instanceId: string) =>
  (await db().select().from(simulatedVolumes).where(eq(simulatedVolumes.instanceId, instanceId)))
    .map((v) => [v.name.replace(instanceId, "ID"), v.dataSource])
    .sort();

const eventTypes = async (subject: string) =>
  (await db().select().from(outboxEvents).where(eq(outboxEvents.subject, subject))).map((e) =>
    e.type.replace("dev.minispod.", ""),
  );

function event(type: EventType, subject: string, data: Record<string, unknown>) {
  return {
    id: randomUUID(),
    type: fullType(type),
    source: "instances",
    subject,
    time: new Date().toISOString(),
    data,
  };
}

async function pendingBackup(s: Subscribed) {
  const id = randomUUID();
  await db()
    .insert(backups)
    .values({
      id,
      instanceId: s.instanceId,
      userId: s.user.id,
      kind: "ON_DEMAND",
      snapshotName: `b-${id}`,
      createdAt: t.h.clock.now,
    });
  return id;
}

const requested = (s: Subscribed, backupId: string) =>
  event("backup.requested", backupId, {
    userId: s.user.id,
    backupId,
    instanceId: s.instanceId,
    kind: "ON_DEMAND",
    status: "PENDING",
  });

async function askRestore(s: Subscribed, backupId: string, target = s) {
  const [restore] = await db()
    .insert(backupRestores)
    .values({
      backupId,
      targetInstanceId: target.instanceId,
      target: target === s ? "SAME_INSTANCE" : "NEW_INSTANCE",
    })
    .returning();
  return event("backup.restore_requested", restore!.id, {
    userId: s.user.id,
    restoreId: restore!.id,
    backupId,
    instanceId: s.instanceId,
    targetInstanceId: target.instanceId,
    target: restore!.target,
  });
}

describe("scheduled backups", () => {
  it("takes one per period, ready with its size, and keeps the newest N", async () => {
    const s = await running(2);
    const first = await cron();
    expect(first.scheduled).toBeGreaterThanOrEqual(1);
    let rows = await backupsOf(s.instanceId);
    expect(rows.map((b) => [b.kind, b.status, b.sizeBytes])).toEqual([
      ["SCHEDULED", "READY", 2 ** 30],
    ]);
    expect(await eventTypes(rows[0]!.id)).toEqual(["backup.succeeded"]);
    // Not due again within the day.
    await cron();
    expect(await backupsOf(s.instanceId)).toHaveLength(1);
    advance(DAY);
    await cron();
    advance(DAY);
    await cron();
    rows = await backupsOf(s.instanceId);
    expect(rows.map((b) => b.status)).toEqual(["DELETED", "READY", "READY"]);
    // The rotated one's snapshot is gone from the cluster.
    const snaps = await db()
      .select()
      .from(simulatedSnapshots)
      .where(eq(simulatedSnapshots.instanceId, s.instanceId));
    expect(snaps.map((x) => x.name).sort()).toEqual(
      [rows[1]!.snapshotName, rows[2]!.snapshotName].sort(),
    );
  });

  it("follows a snapshot being taken until it is ready", async () => {
    const s = await running();
    const slow = createSimulatedCluster({
      db: db(),
      config: defaultClusterConfig,
      delayMs: 1000,
      now: () => t.h.clock.now,
    });
    const app = t.appWith(slow);
    const id = await pendingBackup(s);
    const response = await deliver(app, requested(s, id));
    expect(await response.json()).toMatchObject({ outcome: "in-progress", status: "IN_PROGRESS" });
    advance(3000);
    await cron(app);
    const [row] = await db().select().from(backups).where(eq(backups.id, id));
    expect(row).toMatchObject({ status: "READY", sizeBytes: 2 ** 30 });
  });
});

describe("on-demand backups", () => {
  it("takes the snapshot for backup.requested; a redelivery finds nothing to do", async () => {
    const s = await running();
    const id = await pendingBackup(s);
    const e = requested(s, id);
    const response = await deliver(t.app, e);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ outcome: "ready", status: "READY" });
    const again = await deliver(t.app, { ...e, id: randomUUID() });
    expect(await again.json()).toMatchObject({ outcome: "nothing-to-do", status: "READY" });
    expect(await eventTypes(id)).toEqual(["backup.succeeded"]);
  });

  it("preflight: storage that cannot snapshot fails the backup in plain words, and skips the schedule", async () => {
    const s = await running();
    const localPath = createSimulatedCluster({
      db: db(),
      config: defaultClusterConfig,
      delayMs: 0,
      snapshots: false,
    });
    const app = t.appWith(localPath);
    const id = await pendingBackup(s);
    await deliver(app, requested(s, id));
    const [row] = await db().select().from(backups).where(eq(backups.id, id));
    expect(row?.status).toBe("FAILED");
    expect(row?.error).toMatch(/cannot take snapshots/);
    expect(await eventTypes(id)).toEqual(["backup.failed"]);
    const result = await cron(app);
    expect(result.refused).toBe(true);
    expect(result.scheduled).toBe(0);
    const metrics = await (await app.request("/metrics")).text();
    expect(metrics).toMatch(/minispod_backup_preflight_refusals_total\{storage_class="local-path"/);
  });

  it("deletes a backup the customer asked to go", async () => {
    const s = await running();
    const id = await pendingBackup(s);
    await deliver(t.app, requested(s, id));
    await db().update(backups).set({ status: "DELETING" }).where(eq(backups.id, id));
    const response = await deliver(
      t.app,
      event("backup.deletion_requested", id, {
        userId: s.user.id,
        backupId: id,
        instanceId: s.instanceId,
        kind: "ON_DEMAND",
        status: "DELETING",
      }),
    );
    expect(await response.json()).toMatchObject({ outcome: "deleted" });
    const [row] = await db().select().from(backups).where(eq(backups.id, id));
    expect(row?.status).toBe("DELETED");
    const snaps = await db()
      .select()
      .from(simulatedSnapshots)
      .where(eq(simulatedSnapshots.name, `b-${id}`));
    expect(snaps).toEqual([]);
  });
});

/** A running instance restored from its own backup (the provisioner's part), not yet swept. */
async function restoredOnce() {
  const s = await running();
  const id = await pendingBackup(s);
  await deliver(t.app, requested(s, id));
  expect(await (await deliver(t.app, await askRestore(s, id))).json()).toMatchObject({
    outcome: "restored",
  });
  return { s, id };
}

describe("restore", () => {
  it("into the same instance: a new volume generation from the snapshot, the old one kept until it runs", async () => {
    const s = await running();
    const id = await pendingBackup(s);
    await deliver(t.app, requested(s, id));
    const e = await askRestore(s, id);
    const response = await deliver(t.app, e);
    expect(await response.json()).toMatchObject({ outcome: "restored", status: "DONE" });
    expect(await volumesOf(s.instanceId)).toEqual([
      ["i-ID", null],
      ["i-ID-g1", `b-${id}`],
    ]);
    const [volume] = await db()
      .select()
      .from(instanceVolumes)
      .where(eq(instanceVolumes.instanceId, s.instanceId));
    expect(volume).toMatchObject({
      generation: 1,
      previousGeneration: 0,
      sourceSnapshot: `b-${id}`,
    });
    expect(await eventTypes(e.subject)).toEqual(["backup.restored"]);
    expect((await timeline(db(), s.instanceId)).at(-1)).toMatch(
      /^PROVISIONING Restored from the backup/,
    );
    // The instance runs again (the reconcile sweep sees it), then the old volume goes.
    await t.app.request("/cron/reconcile", { method: "POST" });
    expect((await instanceRow(db(), s.instanceId)).status).toBe("RUNNING");
    const swept = await cron();
    expect(swept.volumesDeleted).toBeGreaterThanOrEqual(1);
    expect(await volumesOf(s.instanceId)).toEqual([["i-ID-g1", `b-${id}`]]);
    // A redelivery finds the restore done.
    const again = await deliver(t.app, { ...e, id: randomUUID() });
    expect(await again.json()).toMatchObject({ outcome: "nothing-to-do", status: "DONE" });
    // A later apply (any converge) keeps the restored volume.
    await deliver(t.app, subscriptionEvent("subscription.renewed", s));
    expect(await volumesOf(s.instanceId)).toEqual([["i-ID-g1", `b-${id}`]]);
  });

  it("keeps the data a restore replaced as a PRE_RESTORE backup before its volume goes, restorable; the newest such copy per instance", async () => {
    const { s, id } = await restoredOnce();
    await t.app.request("/cron/reconcile", { method: "POST" });
    expect((await instanceRow(db(), s.instanceId)).status).toBe("RUNNING");
    expect((await cron()).volumesDeleted).toBe(1);
    const copies = async () =>
      (await backupsOf(s.instanceId))
        .filter((b) => b.kind === "PRE_RESTORE")
        .map((b) => [b.volumeGeneration, b.status])
        .sort((a, b) => Number(a[0]) - Number(b[0]));
    // A snapshot of generation 0 (the data before the restore), ready, then the claim gone.
    expect(await copies()).toEqual([[0, "READY"]]);
    const [first] = (await backupsOf(s.instanceId)).filter((b) => b.kind === "PRE_RESTORE");
    const [snapshot] = await db()
      .select()
      .from(simulatedSnapshots)
      .where(eq(simulatedSnapshots.name, first!.snapshotName));
    expect(snapshot?.sourceVolume).toBe(`i-${s.instanceId}`);
    expect(await volumesOf(s.instanceId)).toEqual([["i-ID-g1", `b-${id}`]]);
    // No email for it (the restore's says the data is kept), but the event for webhooks.
    expect(await eventTypes(first!.id)).toEqual(["backup.succeeded"]);

    // Undoing the restore is restoring that copy: generation 2 from it.
    const undo = await askRestore(s, first!.id);
    expect(await (await deliver(t.app, undo)).json()).toMatchObject({ outcome: "restored" });
    expect(await volumesOf(s.instanceId)).toContainEqual(["i-ID-g2", first!.snapshotName]);
    await t.app.request("/cron/reconcile", { method: "POST" });
    await cron();
    // Generation 1 kept in its turn; the older copy goes once the newer one is ready.
    expect(await copies()).toEqual([
      [0, "READY"],
      [1, "READY"],
    ]);
    await cron();
    expect(await copies()).toEqual([
      [0, "DELETED"],
      [1, "READY"],
    ]);
    expect(await volumesOf(s.instanceId)).toEqual([["i-ID-g2", first!.snapshotName]]);
  });

  it("refuses a restore while the volume the last one replaced is still there (nothing left behind)", async () => {
    const { s, id } = await restoredOnce();
    // No sweep yet: generation 0 is still kept. A second restore (past the API's 409) fails.
    const second = await askRestore(s, id);
    expect(await (await deliver(t.app, second)).json()).toMatchObject({
      outcome: "refused",
      status: "FAILED",
    });
    const [row] = await db()
      .select()
      .from(backupRestores)
      .where(eq(backupRestores.id, second.subject));
    expect(row?.error).toMatch(/has not settled yet/);
    expect(await volumesOf(s.instanceId)).toEqual([
      ["i-ID", null],
      ["i-ID-g1", `b-${id}`],
    ]);
    // Settled (running on g1, g0 kept as a backup and gone): the next restore goes through.
    await t.app.request("/cron/reconcile", { method: "POST" });
    await cron();
    expect(await (await deliver(t.app, await askRestore(s, id))).json()).toMatchObject({
      outcome: "restored",
    });
    await t.app.request("/cron/reconcile", { method: "POST" });
    await cron();
    expect(await volumesOf(s.instanceId)).toEqual([["i-ID-g2", `b-${id}`]]);
  });

  it("keeps the replaced volume while its copy cannot be taken, and lets it go once the customer deletes that copy", async () => {
    const { s, id } = await restoredOnce();
    await t.app.request("/cron/reconcile", { method: "POST" });
    const refusing: ClusterPort = {
      ...t.cluster,
      createSnapshot: async (spec) => {
        if (spec.instanceId === s.instanceId) {
          throw new ClusterError("invalid", "the CSI driver refused the snapshot", { status: 422 });
        }
        return t.cluster.createSnapshot(spec);
      },
    };
    const app = t.appWith(refusing);
    expect((await cron(app)).volumesDeleted).toBe(0);
    expect((await cron(app)).volumesDeleted).toBe(0);
    const copies = (await backupsOf(s.instanceId)).filter((b) => b.kind === "PRE_RESTORE");
    expect(copies.map((b) => b.status)).toEqual(["FAILED"]); // tried once, not every sweep
    expect(await volumesOf(s.instanceId)).toHaveLength(2);
    expect(await eventTypes(copies[0]!.id)).toEqual(["backup.failed"]);
    // The customer deletes the failed copy (the instances API: DELETING, then this event).
    await db().update(backups).set({ status: "DELETING" }).where(eq(backups.id, copies[0]!.id));
    await deliver(
      app,
      event("backup.deletion_requested", copies[0]!.id, {
        userId: s.user.id,
        backupId: copies[0]!.id,
        instanceId: s.instanceId,
        kind: "PRE_RESTORE",
        status: "DELETING",
      }),
    );
    expect((await cron(app)).volumesDeleted).toBe(1);
    expect(await volumesOf(s.instanceId)).toEqual([["i-ID-g1", `b-${id}`]]);
  });

  it("keeps room in the quota for both claims until the previous one is gone from the cluster", async () => {
    const s = await running();
    const id = await pendingBackup(s);
    await deliver(t.app, requested(s, id));
    // A claim a pod still mounts stays (pvc-protection) and counts in the quota: the first
    // delete leaves it terminating, the next one finds it gone.
    const namespaces: NamespaceSpec[] = [];
    let terminating = true;
    const cluster: ClusterPort = {
      ...t.cluster,
      ensureNamespace: async (spec) => {
        namespaces.push(spec);
        return t.cluster.ensureNamespace(spec);
      },
      deleteVolume: async (ref, generation) => {
        if (ref.instanceId !== s.instanceId) return t.cluster.deleteVolume(ref, generation);
        if (terminating) return { gone: false };
        return t.cluster.deleteVolume(ref, generation);
      },
    };
    const app = t.appWith(cluster);
    expect(await (await deliver(app, await askRestore(s, id))).json()).toMatchObject({
      outcome: "restored",
    });
    // The restore sized the namespace for the instance's two claims before creating the second.
    expect(namespaces.at(-1)).toMatchObject({ customerId: s.user.id, extraVolumes: ["1Gi"] });
    await app.request("/cron/reconcile", { method: "POST" });
    expect((await instanceRow(db(), s.instanceId)).status).toBe("RUNNING");

    namespaces.length = 0;
    expect((await cron(app)).volumesDeleted).toBe(0);
    const volume = async () =>
      (
        await db()
          .select()
          .from(instanceVolumes)
          .where(eq(instanceVolumes.instanceId, s.instanceId))
      )[0];
    expect(await volume()).toMatchObject({ generation: 1, previousGeneration: 0 });
    // Another instance of the customer's provisioned meanwhile keeps the room too.
    const other = await activeSubscription(t.h, { user: s.user, service: s.service });
    await deliver(app, subscriptionEvent("subscription.activated", other));
    expect((await instanceRow(db(), other.instanceId)).status).toBe("RUNNING");
    expect(namespaces.at(-1)?.plans).toHaveLength(2);
    expect(namespaces.at(-1)?.extraVolumes).toEqual(["1Gi"]);

    terminating = false;
    namespaces.length = 0;
    expect((await cron(app)).volumesDeleted).toBe(1);
    expect(await volume()).toMatchObject({ generation: 1, previousGeneration: null });
    expect(namespaces).toHaveLength(1);
    expect(namespaces[0]?.extraVolumes).toBeUndefined();
    expect(await volumesOf(s.instanceId)).toEqual([["i-ID-g1", `b-${id}`]]);
  });

  it("a converge that applied the old volume while a restore switched it puts the restored one back", async () => {
    const s = await running();
    const id = await pendingBackup(s);
    await deliver(t.app, requested(s, id));
    const restore = await askRestore(s, id);
    // Every apply of this instance, in the order the cluster got them.
    const applied: number[] = [];
    let interleave = true;
    let app: ReturnType<typeof t.appWith>;
    const cluster: ClusterPort = {
      ...t.cluster,
      applyInstance: async (spec) => {
        if (spec.instanceId === s.instanceId && interleave && !spec.suspended) {
          // The converge read generation 0 and is about to apply it: the whole restore
          // happens in between, then the stale apply lands last.
          interleave = false;
          expect(await (await deliver(app, restore)).json()).toMatchObject({ outcome: "restored" });
        }
        if (spec.instanceId === s.instanceId) applied.push(spec.volume?.generation ?? 0);
        return t.cluster.applyInstance(spec);
      },
    };
    app = t.appWith(cluster);
    expect((await deliver(app, subscriptionEvent("subscription.renewed", s))).status).toBe(200);
    expect(interleave).toBe(false);
    expect(applied).toEqual([1, 1, 0, 1]); // restore: suspended, then live; the stale one; put back
  });

  it("into a new instance of the same app (another subscription of the customer's)", async () => {
    const s = await running();
    const id = await pendingBackup(s);
    await deliver(t.app, requested(s, id));
    const fresh = await activeSubscription(t.h, { user: s.user, service: s.service });
    await deliver(t.app, subscriptionEvent("subscription.activated", fresh));
    const response = await deliver(t.app, await askRestore(s, id, fresh));
    expect(await response.json()).toMatchObject({ outcome: "restored" });
    expect(await volumesOf(fresh.instanceId)).toEqual([
      ["i-ID", null],
      ["i-ID-g1", `b-${id}`],
    ]);
  });

  it("loses nothing when the restored volume is refused: the instance stays on its volume", async () => {
    const s = await running();
    const id = await pendingBackup(s);
    await deliver(t.app, requested(s, id));
    const refusing: ClusterPort = {
      ...t.cluster,
      applyInstance: async (spec) => {
        if ((spec.volume?.generation ?? 0) > 0) {
          await t.cluster.applyInstance(spec); // the claim was created, then admission refused
          throw new ClusterError("invalid", "exceeded quota: requests.storage", { status: 403 });
        }
        return t.cluster.applyInstance(spec);
      },
    };
    const e = await askRestore(s, id);
    const response = await deliver(t.appWith(refusing), e);
    expect(await response.json()).toMatchObject({ outcome: "failed", status: "FAILED" });
    expect(await volumesOf(s.instanceId)).toEqual([["i-ID", null]]);
    expect(
      await db().select().from(instanceVolumes).where(eq(instanceVolumes.instanceId, s.instanceId)),
    ).toEqual([]);
    expect(await eventTypes(e.subject)).toEqual(["backup.restore_failed"]);
    expect((await instanceRow(db(), s.instanceId)).status).toBe("RUNNING");
  });
});

describe("a new subscription restored from a backup (restoreFromBackupId)", () => {
  /** What billing's settlement leaves for such a subscription: generation 0 from the snapshot, a PENDING restore. */
  async function subscribedFrom(s: Subscribed, backupId: string, service = s.service) {
    const fresh = await activeSubscription(t.h, { user: s.user, service });
    await db()
      .insert(instanceVolumes)
      .values({ instanceId: fresh.instanceId, generation: 0, sourceSnapshot: `b-${backupId}` });
    const [restore] = await db()
      .insert(backupRestores)
      .values({ backupId, targetInstanceId: fresh.instanceId, target: "NEW_INSTANCE" })
      .returning();
    return { fresh, restoreId: restore!.id };
  }
  const restoreRow = async (id: string) =>
    (await db().select().from(backupRestores).where(eq(backupRestores.id, id)))[0];

  it("provisions the instance with its first volume created from the snapshot, then the restore is DONE", async () => {
    const s = await running();
    const id = await pendingBackup(s);
    await deliver(t.app, requested(s, id));
    expect((await backupsOf(s.instanceId))[0]?.status).toBe("READY");
    const { fresh, restoreId } = await subscribedFrom(s, id);
    const response = await deliver(t.app, subscriptionEvent("subscription.activated", fresh));
    expect(response.status).toBe(200);
    // One volume, never an empty one: generation 0's claim names the snapshot as its dataSource.
    expect(await volumesOf(fresh.instanceId)).toEqual([["i-ID", `b-${id}`]]);
    expect((await instanceRow(db(), fresh.instanceId)).status).toBe("RUNNING");
    expect(await timeline(db(), fresh.instanceId)).toContain(
      "PROVISIONING Creating the workload, its volume restored from your backup.",
    );
    expect(await restoreRow(restoreId)).toMatchObject({ status: "DONE", error: null });
    expect((await restoreRow(restoreId))?.finishedAt).not.toBeNull();
    expect(await eventTypes(restoreId)).toEqual(["backup.restored"]);
    const [restored] = await db()
      .select()
      .from(outboxEvents)
      .where(eq(outboxEvents.subject, restoreId));
    expect(restored?.data).toMatchObject({
      backupId: id,
      instanceId: s.instanceId,
      targetInstanceId: fresh.instanceId,
      target: "NEW_INSTANCE",
      reason: null,
    });
    // A later converge keeps the same claim; the source instance keeps its own.
    await deliver(t.app, subscriptionEvent("subscription.renewed", fresh));
    expect(await volumesOf(fresh.instanceId)).toEqual([["i-ID", `b-${id}`]]);
    expect(await volumesOf(s.instanceId)).toEqual([["i-ID", null]]);
    expect(await eventTypes(restoreId)).toEqual(["backup.restored"]);
  });

  it("a later restore into that instance is the provisioner's usual one (a new generation)", async () => {
    const s = await running();
    const id = await pendingBackup(s);
    await deliver(t.app, requested(s, id));
    const { fresh } = await subscribedFrom(s, id);
    await deliver(t.app, subscriptionEvent("subscription.activated", fresh));
    const e = await askRestore(s, id, fresh);
    expect(await (await deliver(t.app, e)).json()).toMatchObject({ outcome: "restored" });
    expect(await volumesOf(fresh.instanceId)).toEqual([
      ["i-ID", `b-${id}`],
      ["i-ID-g1", `b-${id}`],
    ]);
  });

  it("an instance that fails to start fails the restore, in plain words", async () => {
    const s = await running();
    const id = await pendingBackup(s);
    await deliver(t.app, requested(s, id));
    // Same app, so the backup fits; the catalog marker makes the cluster refuse it.
    await db()
      .update(serviceCatalog)
      .set({ defaultEnv: { MINISPOD_SIMULATE_FAULT: "quota" } })
      .where(eq(serviceCatalog.id, s.service.id));
    try {
      const { fresh, restoreId } = await subscribedFrom(s, id);
      await deliver(t.app, subscriptionEvent("subscription.activated", fresh));
      expect((await instanceRow(db(), fresh.instanceId)).status).toBe("FAILED");
      const row = await restoreRow(restoreId);
      expect(row?.status).toBe("FAILED");
      expect(row?.error).toMatch(/^The new instance did not start: .*quota/i);
      expect(await eventTypes(restoreId)).toEqual(["backup.restore_failed"]);
    } finally {
      await db()
        .update(serviceCatalog)
        .set({ defaultEnv: {} })
        .where(eq(serviceCatalog.id, s.service.id));
    }
  });
});

describe("purge keeps the newest backup for the grace period", () => {
  it("keeps the namespace and the newest ready backup, then purges both and announces it", async () => {
    const s = await running(5);
    const older = await pendingBackup(s);
    await deliver(t.app, requested(s, older));
    advance(1000);
    const newer = await pendingBackup(s);
    await deliver(t.app, requested(s, newer));
    await setSubscriptionStatus(db(), s.subscriptionId, "EXPIRED");
    await deliver(t.app, subscriptionEvent("subscription.purged", s));
    expect((await instanceRow(db(), s.instanceId)).status).toBe("DELETED");
    const namespace = `customer-${s.user.id}`;
    const ns = () =>
      db().select().from(simulatedNamespaces).where(eq(simulatedNamespaces.name, namespace));
    expect(await ns()).toHaveLength(1);
    await cron();
    const kept = await db().select().from(backups).where(eq(backups.id, newer));
    expect(kept[0]?.status).toBe("READY");
    expect(kept[0]?.retainUntil?.getTime()).toBeGreaterThan(t.h.clock.now.getTime() + 29 * DAY);
    const gone = await db().select().from(backups).where(eq(backups.id, older));
    expect(gone[0]?.status).toBe("DELETED");
    advance(31 * DAY);
    const swept = await cron();
    expect(swept.purged).toBeGreaterThanOrEqual(1);
    expect(
      (
        await db()
          .select()
          .from(backups)
          .where(and(eq(backups.id, newer)))
      )[0]?.status,
    ).toBe("DELETED");
    expect(await ns()).toEqual([]);
    expect(await eventTypes(s.instanceId)).toContain("backup.purged");
  });

  it("keeps nothing after an immediate cancellation: the customer asked for the data to go", async () => {
    const s = await running(5);
    const id = await pendingBackup(s);
    await deliver(t.app, requested(s, id));
    await setSubscriptionStatus(db(), s.subscriptionId, "CANCELLED");
    await deliver(t.app, subscriptionEvent("subscription.cancelled", s));
    expect((await instanceRow(db(), s.instanceId)).status).toBe("DELETED");
    await cron();
    const [row] = await db().select().from(backups).where(eq(backups.id, id));
    expect(row).toMatchObject({ status: "DELETED", retainUntil: null });
    expect(await eventTypes(s.instanceId)).toContain("backup.purged");
    const ns = await db()
      .select()
      .from(simulatedNamespaces)
      .where(eq(simulatedNamespaces.name, `customer-${s.user.id}`));
    expect(ns).toEqual([]);
  });
});
