import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serviceCatalog, simulatedDomains, simulatedVolumes, subscriptions } from "@minispod/db";
import { enqueueEvent } from "@minispod/shared";
import {
  createHarness,
  type Harness,
  json,
  startTestDnsServer,
  type TestDnsServer,
} from "@minispod/shared/testing";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { functions } from "../src/local/functions";
import { createLocalRunner, type LocalRunner } from "../src/local/runner";

/**
 * An instance's whole life in local mode, through the runner exactly as
 * `npm start` assembles it: the broker routes subscription events to the
 * provisioner by knative/'s Triggers, the simulated cluster (delays 0)
 * runs the workload, and /api/v1/instances shows it.
 */
let h: Harness;
let runner: LocalRunner;
let dns: TestDnsServer;

const api = (path: string, init?: RequestInit) => runner.app.request(`/api/v1${path}`, init);

interface Shown {
  id: string;
  status: string;
  url: string | null;
  live: { phase: string } | null;
  timeline: { status: string; message: string }[];
}

async function show(id: string, auth: Record<string, string>): Promise<Shown> {
  const response = await api(`/instances/${id}`, { headers: auth });
  expect(response.status).toBe(200);
  return (await response.json()) as Shown;
}

/** What the expiry sweeper (another function) does: EXPIRED and subscription.expired, one commit. */
async function expire(subscriptionId: string) {
  const ctx = runner.hosted.get("subscriptions")!.ctx;
  await ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .update(subscriptions)
      .set({ status: "EXPIRED", expiredAt: new Date() })
      .where(eq(subscriptions.id, subscriptionId))
      .returning();
    const [service] = await tx
      .select()
      .from(serviceCatalog)
      .where(eq(serviceCatalog.id, row!.serviceId));
    await enqueueEvent(tx, {
      type: "subscription.expired",
      source: "expiry-sweeper",
      subject: subscriptionId,
      data: {
        userId: row!.userId,
        subscriptionId,
        serviceId: service!.id,
        serviceSlug: service!.slug,
        serviceName: service!.name,
        status: "EXPIRED",
        currentPeriodStart: row!.currentPeriodStart.toISOString(),
        currentPeriodEnd: row!.currentPeriodEnd.toISOString(),
        autoRenew: row!.autoRenew,
      },
    });
  });
  ctx.events.kick();
}

// `npm start`'s default database is PGlite; deployments use PostgreSQL: the same life on both.
describe.each(["pglite", "postgres"] as const)("local mode on %s", (database) => {
  beforeAll(async () => {
    h = await createHarness();
    dns = await startTestDnsServer();
    runner = await createLocalRunner({
      source: {
        ...(database === "postgres"
          ? { DATABASE_URL: h.databaseUrl, REDIS_URL: h.redisUrl, REDIS_KEY_PREFIX: h.redisPrefix }
          : {}),
        DATA_DIR: mkdtempSync(join(tmpdir(), "minispod-provisioning-")),
        LOCAL_CRON: "false",
        LOG_LEVEL: "silent",
        BCRYPT_COST: "4",
        ADMIN_PASSWORD: "admin password 1",
        K8S_SIMULATED_DELAY_MS: "0",
        // Custom domains' TXT records are looked up at a real DNS server on loopback.
        DNS_RESOLVERS: dns.address,
        DNS_TIMEOUT_MS: "500",
      },
      functions,
    });
  }, 120_000);
  afterAll(async () => {
    await runner?.close();
    await dns?.close();
    await h?.close();
  });

  describe("a custom domain", () => {
    it("is claimed, verified by its TXT record, served with a certificate, announced, and removed", async () => {
      const register = await api(
        "/auth/register",
        json({ email: `dom-${database}@example.com`, password: "a long password", name: "Dom" }),
      );
      const auth = { authorization: `Bearer ${(await register.json()).accessToken}` };
      expect((await api("/subscriptions", json({ serviceSlug: "gitea" }, auth))).status).toBe(201);
      await runner.settle();
      const id = (await (await api("/instances", { headers: auth })).json()).items[0].id as string;

      const domain = `shop-${database}.example.com`;
      const added = await api(`/instances/${id}/domains`, json({ domain }, auth));
      expect(added.status).toBe(201);
      const claim = (await added.json()) as {
        id: string;
        dnsRecords: { type: string; name: string; value: string }[];
      };
      const txt = claim.dnsRecords.find((r) => r.type === "TXT")!;
      const check = async () =>
        (await (
          await api(`/instances/${id}/domains/${claim.id}/verify`, json({}, auth))
        ).json()) as {
          state: string;
          reason: string;
        };
      expect(await check()).toMatchObject({ state: "PENDING_VERIFICATION" });

      dns.set(txt.name, "TXT", [txt.value]);
      expect((await check()).state).toBe("ISSUING");
      await runner.settle(); // domain.verified -> the provisioner routes it on the simulated cluster
      const db = runner.hosted.get("provisioner")!.ctx.db;
      const routed = await db.select().from(simulatedDomains);
      expect(routed.map((r) => r.domain)).toContain(domain);
      expect(await check()).toMatchObject({
        state: "ACTIVE",
        reason: "serving with its certificate",
      });
      await runner.settle();
      const mailbox = await (await runner.app.request("/_dev/notifier/mailbox")).json();
      const subjects = (mailbox.items ?? mailbox).map((m: { subject: string }) => m.subject);
      expect(subjects).toContain(`${domain} now serves your app`);

      const removed = await api(`/instances/${id}/domains/${claim.id}`, {
        method: "DELETE",
        headers: auth,
      });
      expect(removed.status).toBe(204);
      await runner.settle();
      expect((await db.select().from(simulatedDomains)).map((r) => r.domain)).not.toContain(domain);
    }, 60_000);
  });

  describe("an instance from subscribe to cancel", () => {
    it("runs with a URL right after subscribing, then suspends, resumes and is deleted", async () => {
      const register = await api(
        "/auth/register",
        json({ email: "dora@example.com", password: "a long password", name: "Dora" }),
      );
      expect(register.status).toBe(201);
      const auth = { authorization: `Bearer ${(await register.json()).accessToken}` };

      const subscribe = await api("/subscriptions", json({ serviceSlug: "gitea" }, auth));
      expect(subscribe.status).toBe(201);
      const subscription = (await subscribe.json()) as { id: string; instance: { id: string } };
      await runner.settle();

      const list = await (await api("/instances", { headers: auth })).json();
      expect(list.items).toHaveLength(1);
      const id = list.items[0].id as string;
      expect(id).toBe(subscription.instance.id);

      let shown = await show(id, auth);
      expect(shown.status).toBe("RUNNING");
      expect(shown.url).toBe(`https://i-${id}.apps.localhost`);
      expect(shown.live?.phase).toBe("running");
      expect(shown.timeline.map((e) => e.status)).toEqual(["PENDING", "PROVISIONING", "RUNNING"]);
      const logs = await (await api(`/instances/${id}/logs`, { headers: auth })).json();
      expect(logs.lines.join("\n")).toContain("starting gitea/gitea:1.22");

      await expire(subscription.id);
      await runner.settle();
      shown = await show(id, auth);
      expect(shown.status).toBe("SUSPENDED");
      expect(shown.live?.phase).toBe("suspended");

      const renew = await api(`/subscriptions/${subscription.id}/renew`, json({}, auth));
      expect(renew.status).toBe(200);
      await runner.settle();
      shown = await show(id, auth);
      expect(shown.status).toBe("RUNNING");

      const cancel = await api(
        `/subscriptions/${subscription.id}/cancel`,
        json({ immediately: true }, auth),
      );
      expect(cancel.status).toBe(200);
      await runner.settle();
      shown = await show(id, auth);
      expect(shown.status).toBe("DELETED");
      expect(shown.url).toBeNull();
      expect(shown.timeline.map((e) => e.status)).toEqual([
        "PENDING",
        "PROVISIONING",
        "RUNNING",
        "SUSPENDED",
        "PROVISIONING",
        "RUNNING",
        "DELETING",
        "DELETED",
      ]);

      // Every step reached the customer's mailbox through the notifier's instance templates.
      const mailbox = await (await runner.app.request("/_dev/notifier/mailbox")).json();
      const subjects = (mailbox.items ?? mailbox)
        .filter((m: { to: string }) => m.to.includes("dora@example.com"))
        .map((m: { subject: string }) => m.subject);
      expect(subjects.length).toBeGreaterThan(2);
      // 60 s: on a loaded machine a delivery may need the Trigger's retry (2 s, 4 s, 8 s
      // backoff) before the chain settles; the life must still converge.
    }, 60_000);
  });

  describe("backups and restore on the simulated cluster", () => {
    it("backs up on demand and on schedule, restores into the instance and into a new one", async () => {
      const register = await api(
        "/auth/register",
        json({ email: "bea@example.com", password: "a long password", name: "Bea" }),
      );
      const auth = { authorization: `Bearer ${(await register.json()).accessToken}` };
      const subscribe = await api("/subscriptions", json({ serviceSlug: "gitea" }, auth));
      expect(subscribe.status).toBe(201);
      const first = (await subscribe.json()) as { id: string; instance: { id: string } };
      await runner.settle();
      const id = first.instance.id;
      expect((await show(id, auth)).status).toBe("RUNNING");

      // On demand: PENDING, then READY with its size once the provisioner took it.
      const asked = await api(`/instances/${id}/backups`, { method: "POST", headers: auth });
      expect(asked.status).toBe(202);
      const backup = (await asked.json()) as { id: string; status: string };
      expect(backup.status).toBe("PENDING");
      await runner.settle();
      const ready = await (
        await api(`/instances/${id}/backups/${backup.id}`, { headers: auth })
      ).json();
      expect(ready).toMatchObject({ status: "READY", kind: "ON_DEMAND", sizeBytes: 5 * 2 ** 30 });

      // Scheduled: the demo catalog backs gitea up daily; the sweep finds the first one due.
      const swept = await runner.app.request("/_fn/provisioner/cron/backups", { method: "POST" });
      expect(swept.status).toBe(200);
      await runner.settle();
      const list = (await (await api(`/instances/${id}/backups`, { headers: auth })).json()) as {
        items: { kind: string; status: string }[];
      };
      expect(list.items.map((b) => `${b.kind} ${b.status}`).sort()).toEqual([
        "ON_DEMAND READY",
        "SCHEDULED READY",
      ]);

      // Restore into the same instance: it starts again on the restored volume; Location
      // is where the client follows the restore to DONE.
      const restore = await api(`/instances/${id}/backups/${backup.id}/restore`, json({}, auth));
      expect(restore.status).toBe(202);
      const followAt = restore.headers.get("location")!;
      expect(followAt).toMatch(new RegExp(`^/api/v1/instances/${id}/restores/`));
      await runner.settle();
      const shown = await show(id, auth);
      expect(shown.timeline.map((e) => e.message).join("\n")).toMatch(/Restored from the backup/);
      expect(shown.status).toBe("RUNNING");
      const followed = await runner.app.request(followAt, { headers: auth });
      expect(await followed.json()).toMatchObject({ target: "SAME_INSTANCE", status: "DONE" });

      // Into a new instance of the same app, in one step: subscribe with the backup, and the
      // new instance is provisioned on a volume created from its snapshot (it never starts
      // empty). The demo catalog allows one gitea per customer; the operator allows more
      // here, as an admin could.
      const db = runner.hosted.get("subscriptions")!.ctx.db;
      await db
        .update(serviceCatalog)
        .set({ allowMultiple: true })
        .where(eq(serviceCatalog.slug, "gitea"));
      const again = await api(
        "/subscriptions",
        json({ serviceSlug: "gitea", restoreFromBackupId: backup.id }, auth),
      );
      expect(again.status).toBe(201);
      const fresh = ((await again.json()) as { instance: { id: string } }).instance.id;
      await runner.settle();
      const freshShown = await show(fresh, auth);
      expect(freshShown.status).toBe("RUNNING");
      expect(freshShown.timeline.map((e) => e.message)).toContain(
        "Creating the workload, its volume restored from your backup.",
      );
      const claims = await db
        .select()
        .from(simulatedVolumes)
        .where(eq(simulatedVolumes.instanceId, fresh));
      expect(claims.map((v) => [v.name, v.dataSource])).toEqual([[`i-${fresh}`, `b-${backup.id}`]]);
      const restores = (await (
        await api(`/instances/${fresh}/restores`, { headers: auth })
      ).json()) as {
        items: { backupId: string; target: string; status: string; finishedAt: string | null }[];
      };
      expect(restores.items).toEqual([
        expect.objectContaining({ backupId: backup.id, target: "NEW_INSTANCE", status: "DONE" }),
      ]);
      expect(restores.items[0]?.finishedAt).not.toBeNull();
      const mailbox = await (await runner.app.request("/_dev/notifier/mailbox")).json();
      const subjects = (mailbox.items ?? mailbox)
        .filter((m: { to: string }) => m.to.includes("bea@example.com"))
        .map((m: { subject: string }) => m.subject);
      expect(subjects).toContain("Your Gitea backup is ready");
      expect(subjects).toContain("Your Gitea backup was restored");
    }, 60_000);
  });
});
