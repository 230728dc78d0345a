import { randomUUID } from "node:crypto";
import { SANDBOX_PAYMENT_METHODS } from "@minispod/billing/payments";
import {
  auditLog,
  backupRestores,
  backups,
  instanceVolumes,
  outboxEvents,
  subscriptions,
} from "@minispod/db";
import { runRouteSecurityTests, type TestUser } from "@minispod/shared/testing";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Service,
  type SubscriptionBody,
  type SubscriptionsTest,
  seedService,
  setupSubscriptions,
  subscribed,
  subscribeRequest,
} from "./helpers";

let t: SubscriptionsTest;
/** An app a customer may subscribe to more than once, so the first instance can stay. */
let app: Service;
let otherApp: Service;

beforeAll(async () => {
  t = await setupSubscriptions();
  app = await seedService(t.h.database.db, { allowMultiple: true });
  otherApp = await seedService(t.h.database.db, { allowMultiple: true, name: "Nextcloud" });
});
afterAll(() => t.h.close());

const db = () => t.h.database.db;

/** A subscription of `user` to `service` with a backup of its instance in `status`. */
async function backupOf(
  user: TestUser,
  service: Service = app,
  status: "READY" | "IN_PROGRESS" | "DELETED" = "READY",
) {
  const source = await subscribed(t, user, { serviceSlug: service.slug });
  const id = randomUUID();
  await db()
    .insert(backups)
    .values({
      id,
      instanceId: source.instance!.id,
      userId: user.id,
      kind: "ON_DEMAND",
      status,
      snapshotName: `b-${id}`,
      sizeBytes: status === "READY" ? 2048 : null,
      readyAt: status === "READY" ? new Date() : null,
    });
  return { id, snapshotName: `b-${id}`, sourceInstanceId: source.instance!.id };
}

const restoresInto = (instanceId: string) =>
  db().select().from(backupRestores).where(eq(backupRestores.targetInstanceId, instanceId));

const problem = async (response: Response) =>
  (await response.json()) as { code: string; detail: string; errors?: { field: string }[] };

describe("POST /api/v1/subscriptions with restoreFromBackupId", () => {
  it("creates the paid instance with its first volume from the backup's snapshot, recorded as a NEW_INSTANCE restore", async () => {
    const backup = await backupOf(t.customer);
    const response = await subscribeRequest(t, t.customer, {
      serviceSlug: app.slug,
      restoreFromBackupId: backup.id,
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as SubscriptionBody;
    expect(body.status).toBe("ACTIVE");
    expect(body.latestInvoice?.status).toBe("PAID");
    const instanceId = body.instance!.id;
    expect(instanceId).not.toBe(backup.sourceInstanceId);

    // The provisioner reads this: generation 0 is created from the snapshot, never empty.
    const [volume] = await db()
      .select()
      .from(instanceVolumes)
      .where(eq(instanceVolumes.instanceId, instanceId));
    expect(volume).toMatchObject({ generation: 0, sourceSnapshot: backup.snapshotName });
    const [restore] = await restoresInto(instanceId);
    expect(restore).toMatchObject({
      backupId: backup.id,
      target: "NEW_INSTANCE",
      status: "PENDING",
      error: null,
    });
    // No restore_requested: there is no running instance to suspend and switch.
    const requested = await db()
      .select()
      .from(outboxEvents)
      .where(eq(outboxEvents.type, "dev.minispod.backup.restore_requested"));
    expect(requested.filter((e) => e.subject === restore!.id)).toHaveLength(0);
    const [row] = await db().select().from(subscriptions).where(eq(subscriptions.id, body.id));
    expect(row?.restoreFromBackupId).toBe(backup.id);
    const [audit] = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.resourceId, body.id), eq(auditLog.action, "subscription.created")));
    expect(audit?.metadata).toMatchObject({ restoreFromBackupId: backup.id });
  });

  it("answers the same for the same Idempotency-Key and body, without a second subscription or restore", async () => {
    const backup = await backupOf(t.customer);
    const key = { "idempotency-key": `restore-${randomUUID()}` };
    const request = { serviceSlug: app.slug, restoreFromBackupId: backup.id };
    const first = await subscribeRequest(t, t.customer, request, key);
    expect(first.status).toBe(201);
    const again = await subscribeRequest(t, t.customer, { ...request }, key);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const body = (await first.json()) as SubscriptionBody;
    expect(await again.json()).toEqual(body);
    const restores = await db()
      .select()
      .from(backupRestores)
      .where(eq(backupRestores.backupId, backup.id));
    expect(restores).toHaveLength(1);
    // The same key with another backup is another request.
    const other = await backupOf(t.customer);
    const reused = await subscribeRequest(
      t,
      t.customer,
      { ...request, restoreFromBackupId: other.id },
      key,
    );
    expect(reused.status).toBe(422);
    expect((await problem(reused)).code).toBe("IDEMPOTENCY_KEY_REUSED");
  });

  it("a declined first charge creates no instance and no restore", async () => {
    const backup = await backupOf(t.customer);
    const response = await subscribeRequest(t, t.customer, {
      serviceSlug: app.slug,
      restoreFromBackupId: backup.id,
      paymentMethod: "pm_sandbox_declined",
    });
    expect(response.status).toBe(402);
    const restores = await db()
      .select()
      .from(backupRestores)
      .where(eq(backupRestores.backupId, backup.id));
    expect(restores).toHaveLength(0);
  });
});

describe("POST /api/v1/subscriptions with restoreFromBackupId: a settlement after the backup went", () => {
  it("fails the restore at once, in plain words, and the paid instance starts empty", async () => {
    const backup = await backupOf(t.customer);
    const key = { "idempotency-key": `restore-late-${randomUUID()}` };
    const request = {
      serviceSlug: app.slug,
      restoreFromBackupId: backup.id,
      paymentMethod: SANDBOX_PAYMENT_METHODS.timeoutAfterCharge,
    };
    // Charged, but the answer was lost: nothing settled yet.
    const lost = await subscribeRequest(t, t.customer, request, key);
    expect(lost.status).toBe(503);
    // Meanwhile the backup is deleted (no restore row exists yet to refuse it).
    await db().update(backups).set({ status: "DELETING" }).where(eq(backups.id, backup.id));
    // The retry finishes that payment: the subscription is paid and live.
    const settled = await subscribeRequest(t, t.customer, request, key);
    expect(settled.status).toBe(201);
    const body = (await settled.json()) as SubscriptionBody;
    expect(body.status).toBe("ACTIVE");
    const instanceId = body.instance!.id;
    const [restore] = await restoresInto(instanceId);
    expect(restore).toMatchObject({
      backupId: backup.id,
      target: "NEW_INSTANCE",
      status: "FAILED",
    });
    expect(restore?.error).toMatch(/deleted before the new instance was created/);
    expect(restore?.finishedAt).not.toBeNull();
    const volumes = await db()
      .select()
      .from(instanceVolumes)
      .where(eq(instanceVolumes.instanceId, instanceId));
    expect(volumes).toEqual([]);
    const events = await db()
      .select()
      .from(outboxEvents)
      .where(eq(outboxEvents.subject, restore!.id));
    expect(events.map((e) => e.type)).toEqual(["dev.minispod.backup.restore_failed"]);
    expect(events[0]?.data).toMatchObject({ targetInstanceId: instanceId, reason: restore!.error });
  });
});

describe("POST /api/v1/subscriptions with restoreFromBackupId: refusals", () => {
  it("400 for a malformed restoreFromBackupId, naming the field", async () => {
    const response = await subscribeRequest(t, t.customer, {
      serviceSlug: app.slug,
      restoreFromBackupId: "not-a-uuid",
    });
    expect(response.status).toBe(400);
    expect((await problem(response)).errors?.map((e) => e.field)).toContain("restoreFromBackupId");
  });

  it("404 for an unknown backup and for another customer's, charging nothing", async () => {
    const unknown = await subscribeRequest(t, t.customer, {
      serviceSlug: app.slug,
      restoreFromBackupId: randomUUID(),
    });
    expect(unknown.status).toBe(404);
    const theirs = await backupOf(t.other);
    const response = await subscribeRequest(t, t.customer, {
      serviceSlug: app.slug,
      restoreFromBackupId: theirs.id,
    });
    expect(response.status).toBe(404);
    const body = await problem(response);
    expect(body.code).toBe("NOT_FOUND");
    expect(body.detail).toBe("No backup with this id.");
    const created = await db()
      .select()
      .from(subscriptions)
      .where(eq(subscriptions.restoreFromBackupId, theirs.id));
    expect(created).toHaveLength(0);
  });

  it("404 for a deleted backup", async () => {
    const gone = await backupOf(t.customer, app, "DELETED");
    const response = await subscribeRequest(t, t.customer, {
      serviceSlug: app.slug,
      restoreFromBackupId: gone.id,
    });
    expect(response.status).toBe(404);
  });

  it("409 for a backup that is not ready yet", async () => {
    const taking = await backupOf(t.customer, app, "IN_PROGRESS");
    const response = await subscribeRequest(t, t.customer, {
      serviceSlug: app.slug,
      restoreFromBackupId: taking.id,
    });
    expect(response.status).toBe(409);
    expect((await problem(response)).detail).toMatch(/Only a ready backup can be restored/);
  });

  it("422 for a backup of another app, in plain words", async () => {
    const backup = await backupOf(t.customer, otherApp);
    const response = await subscribeRequest(t, t.customer, {
      serviceSlug: app.slug,
      restoreFromBackupId: backup.id,
    });
    expect(response.status).toBe(422);
    const body = await problem(response);
    expect(body.code).toBe("UNPROCESSABLE");
    expect(body.detail).toMatch(/another app/);
    expect(body.errors?.map((e) => e.field)).toContain("restoreFromBackupId");
  });
});

runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
  method: "POST",
  path: "/api/v1/subscriptions",
  body: { serviceSlug: "anything", restoreFromBackupId: randomUUID() },
});
