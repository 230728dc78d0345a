import { randomUUID } from "node:crypto";
import { auditLog, deadEvents, outboxEvents } from "@minispod/db";
import { documentGaps, type OpenApiDocument } from "@minispod/shared";
import { json, runRouteSecurityTests } from "@minispod/shared/testing";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deadLetter, enqueuePasswordChanged } from "./dead-letters-fixtures";
import { type AdminTest, setupAdmin } from "./helpers";

let t: AdminTest;
beforeAll(async () => {
  t = await setupAdmin();
});
afterAll(() => t.close());

const BASE = "/api/v1/admin/dead-letters";
const db = () => t.h.database.db;
type Who = "admin" | "superAdmin" | "customer";
const as = (who: Who) => t.h.bearer(t[who]);
const get = (path: string, who: Who = "admin") =>
  t.app.request(`${BASE}${path}`, { headers: as(who) });
const post = (path: string, body?: unknown, who: Who = "admin") =>
  t.app.request(
    `${BASE}${path}`,
    body === undefined ? { method: "POST", headers: as(who) } : json(body, as(who)),
  );

/** A dead letter of a real outbox event (published, then dead-lettered by a Trigger). */
async function letterOfOutboxEvent(): Promise<{ id: string; eventId: string }> {
  const eventId = await enqueuePasswordChanged(db(), t.customer.id);
  await db()
    .update(outboxEvents)
    .set({ publishedAt: new Date(), attempts: 1 })
    .where(eq(outboxEvents.id, eventId));
  const [row] = await db().select().from(outboxEvents).where(eq(outboxEvents.id, eventId));
  const id = await deadLetter(db(), {
    id: row!.id,
    type: row!.type,
    source: row!.source,
    subject: row!.subject ?? undefined,
    data: row!.data,
    time: row!.time.toISOString(),
    extensions: { traceparent: row!.traceparent! },
  });
  return { id, eventId };
}

const auditOf = (resourceId: string) =>
  db()
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.resourceType, "dead_letter"), eq(auditLog.resourceId, resourceId)));

describe("GET /api/v1/admin/dead-letters", () => {
  const source = `listing-${randomUUID().slice(0, 6)}`;
  const data = { userId: randomUUID(), email: "x@example.com" };
  const day = (d: number) => new Date(Date.UTC(2026, 10, d, 12));
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    const letter = (type: string, d: number) =>
      deadLetter(db(), { id: randomUUID(), type, source, data }, "notifier/events", day(d));
    ids.changed1 = await letter("dev.minispod.user.password_changed", 1);
    ids.verified2 = await letter("dev.minispod.user.email_verified", 2);
    ids.changed3 = await letter("dev.minispod.user.password_changed", 3);
    await db()
      .update(deadEvents)
      .set({ replayedAt: day(4) })
      .where(eq(deadEvents.id, ids.changed3));
  });

  it("lists newest first in cursor pages, with which consumer failed", async () => {
    const first = await get(`?source=${source}&limit=2`);
    expect(first.status).toBe(200);
    const page1 = await first.json();
    expect(page1.items.map((i: { id: string }) => i.id)).toEqual([ids.changed3, ids.verified2]);
    expect(page1.items[0]).toMatchObject({
      type: "dev.minispod.user.password_changed",
      source,
      destination: "notifier/events",
      receivedAt: day(3).toISOString(),
      replayedAt: day(4).toISOString(),
    });
    expect(page1.nextCursor).toEqual(expect.any(String));
    const page2 = await (await get(`?source=${source}&limit=2&cursor=${page1.nextCursor}`)).json();
    expect(page2.items.map((i: { id: string }) => i.id)).toEqual([ids.changed1]);
    expect(page2.nextCursor).toBeNull();
  });

  it("filters by type (short or full), replayed or not, and received range", async () => {
    const idsOf = async (query: string) => {
      const res = await get(`?source=${source}&${query}`, "superAdmin");
      expect(res.status).toBe(200);
      return (await res.json()).items.map((i: { id: string }) => i.id);
    };
    expect(await idsOf("type=user.password_changed")).toEqual([ids.changed3, ids.changed1]);
    expect(await idsOf("type=dev.minispod.user.email_verified")).toEqual([ids.verified2]);
    expect(await idsOf("replayed=true")).toEqual([ids.changed3]);
    expect(await idsOf("replayed=false")).toEqual([ids.verified2, ids.changed1]);
    expect(await idsOf(`from=${day(2).toISOString()}&to=${day(3).toISOString()}`)).toEqual([
      ids.verified2,
    ]);
    expect(await idsOf("type=user.registered")).toEqual([]);
  });

  it("answers 400 to bad filters", async () => {
    for (const query of [
      "replayed=maybe",
      "from=yesterday",
      "to=2026-13-01",
      "limit=0",
      "limit=101",
      "cursor=nonsense",
    ]) {
      const res = await get(`?${query}`);
      expect(res.status, query).toBe(400);
      expect((await res.json()).code, query).toBe("VALIDATION_FAILED");
    }
  });
});

describe("GET /api/v1/admin/dead-letters/:id", () => {
  it("shows data, extensions and the failure decoded", async () => {
    const { id, eventId } = await letterOfOutboxEvent();
    const res = await get(`/${id}`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      id,
      eventId,
      type: "dev.minispod.user.password_changed",
      source: "auth",
      subject: t.customer.id,
      data: { userId: t.customer.id, email: "carol@example.com" },
      failure: {
        destination: "notifier/events",
        code: "503",
        detail: "Event handling failed; retry later.",
      },
      replayable: { ok: true },
      replayedAt: null,
    });
    expect(body.extensions.traceparent).toMatch(/^00-[0-9a-f]{32}-/);
  });

  it("says why a letter cannot be replayed", async () => {
    const id = await deadLetter(db(), {
      id: "evt-not-a-uuid",
      type: "dev.minispod.user.password_changed",
      source: "auth",
      data: { userId: t.customer.id, email: "c@example.com" },
    });
    const body = await (await get(`/${id}`)).json();
    expect(body.replayable).toEqual({ ok: false, reason: expect.stringContaining("not a UUID") });
  });

  it("answers 400 to a bad id and 404 to an unknown one", async () => {
    expect((await get("/not-a-uuid")).status).toBe(400);
    const missing = await get(`/${randomUUID()}`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).code).toBe("NOT_FOUND");
  });
});

describe("POST /api/v1/admin/dead-letters/:id/replay", () => {
  it("makes the original outbox row due again, same id, and audits it", async () => {
    const { id, eventId } = await letterOfOutboxEvent();
    const before = Date.now();
    const res = await post(`/${id}/replay`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.items).toEqual([
      {
        id,
        eventId,
        type: "dev.minispod.user.password_changed",
        outbox: "reset",
        replayedAt: expect.any(String),
        previouslyReplayedAt: null,
      },
    ]);
    await t.deps.events.idle();
    // The kick after the commit sent it to the broker again, under the same id.
    expect(t.h.publisher.events.filter((e) => e.id === eventId)).toHaveLength(1);
    const [row] = await db().select().from(outboxEvents).where(eq(outboxEvents.id, eventId));
    expect(row!.publishedAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    const [letter] = await db().select().from(deadEvents).where(eq(deadEvents.id, id));
    expect(letter!.replayedAt).not.toBeNull();

    const audit = await auditOf(id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actorId: t.admin.id,
      actorRole: "ADMIN",
      action: "dead_letter.replayed",
      metadata: { eventId, outbox: "reset", previouslyReplayedAt: null },
    });
  });

  it("re-inserts a purged outbox row under its original id, source, subject, data, trace and time", async () => {
    const { id, eventId } = await letterOfOutboxEvent();
    // The event happened well before it was dead-lettered and replayed.
    const happened = new Date(Date.now() - 3 * 86_400_000);
    await db().update(outboxEvents).set({ time: happened }).where(eq(outboxEvents.id, eventId));
    await db().update(deadEvents).set({ eventTime: happened }).where(eq(deadEvents.id, id));
    const shown = await (await get(`/${id}`)).json();
    expect(shown.eventTime).toBe(happened.toISOString());
    const [original] = await db().select().from(outboxEvents).where(eq(outboxEvents.id, eventId));
    await db().delete(outboxEvents).where(eq(outboxEvents.id, eventId));
    const res = await post(`/${id}/replay`, undefined, "superAdmin");
    expect(res.status).toBe(200);
    expect((await res.json()).items[0].outbox).toBe("inserted");
    const [row] = await db().select().from(outboxEvents).where(eq(outboxEvents.id, eventId));
    expect(row).toMatchObject({
      type: original!.type,
      source: original!.source,
      subject: original!.subject,
      data: original!.data,
      traceparent: original!.traceparent,
    });
    expect(row!.time.toISOString()).toBe(happened.toISOString());
    await t.deps.events.idle();
    // What consumers get says when it happened, not when it was replayed.
    const sent = t.h.publisher.events.filter((e) => e.id === eventId);
    expect(sent.at(-1)?.time).toBe(happened.toISOString());
    expect((await auditOf(id))[0]).toMatchObject({ actorRole: "SUPER_ADMIN" });
  });

  it("allows replaying a replayed letter again, and says when it was last replayed", async () => {
    const { id } = await letterOfOutboxEvent();
    const first = await (await post(`/${id}/replay`)).json();
    const second = await post(`/${id}/replay`);
    expect(second.status).toBe(200);
    expect((await second.json()).items[0].previouslyReplayedAt).toBe(first.items[0].replayedAt);
    expect(await auditOf(id)).toHaveLength(2);
  });

  it("answers 422 for a letter whose event id is not a UUID, and changes nothing", async () => {
    const id = await deadLetter(db(), {
      id: "ping-42",
      type: "dev.minispod.user.password_changed",
      source: "auth",
      data: { userId: t.customer.id, email: "c@example.com" },
    });
    const res = await post(`/${id}/replay`);
    expect(res.status).toBe(422);
    const problem = await res.json();
    expect(problem.code).toBe("UNPROCESSABLE");
    expect(problem.letters).toEqual([
      { id, eventId: "ping-42", reason: expect.stringContaining("not a UUID") },
    ]);
    const [letter] = await db().select().from(deadEvents).where(eq(deadEvents.id, id));
    expect(letter!.replayedAt).toBeNull();
    expect(await auditOf(id)).toHaveLength(0);
  });

  it("answers 422 for data that no longer matches its type", async () => {
    const id = await deadLetter(db(), {
      id: randomUUID(),
      type: "dev.minispod.user.password_changed",
      source: "auth",
      data: { userId: 42 },
    });
    const res = await post(`/${id}/replay`);
    expect(res.status).toBe(422);
    expect((await res.json()).letters[0].reason).toContain("does not match");
  });

  it("answers 422 for an event older than consumers remember (PROCESSED_EVENTS_RETENTION, 30d)", async () => {
    const letter = (daysAgo: number) =>
      deadLetter(db(), {
        id: randomUUID(),
        type: "dev.minispod.user.password_changed",
        source: "auth",
        data: { userId: t.customer.id, email: "c@example.com" },
        time: new Date(Date.now() - daysAgo * 86_400_000).toISOString(),
      });
    const old = await letter(31);
    const res = await post(`/${old}/replay`);
    expect(res.status).toBe(422);
    expect((await res.json()).letters[0].reason).toContain("PROCESSED_EVENTS_RETENTION");
    expect((await (await get(`/${old}`)).json()).replayable).toEqual({
      ok: false,
      reason: expect.stringContaining("would act on it again"),
    });
    const [row] = await db().select().from(deadEvents).where(eq(deadEvents.id, old));
    expect(row!.replayedAt).toBeNull();
    // Inside the window it goes back out.
    const recent = await letter(29);
    expect((await post(`/${recent}/replay`)).status).toBe(200);
  });

  it("answers 409 when the outbox holds another event under the same id", async () => {
    const { id, eventId } = await letterOfOutboxEvent();
    await db()
      .update(outboxEvents)
      .set({ type: "dev.minispod.user.email_verified" })
      .where(eq(outboxEvents.id, eventId));
    const res = await post(`/${id}/replay`);
    expect(res.status).toBe(409);
    expect((await res.json()).code).toBe("CONFLICT");
    expect(await auditOf(id)).toHaveLength(0);
  });

  it("answers 400 to a bad id and 404 to an unknown one", async () => {
    expect((await post("/nope/replay")).status).toBe(400);
    expect((await post(`/${randomUUID()}/replay`)).status).toBe(404);
  });
});

describe("POST /api/v1/admin/dead-letters/replay", () => {
  it("replays several letters at once, one outbox row per event, one audit row per letter", async () => {
    const a = await letterOfOutboxEvent();
    const b = await letterOfOutboxEvent();
    // The same event dead-lettered by a second Trigger.
    const [row] = await db().select().from(outboxEvents).where(eq(outboxEvents.id, a.eventId));
    const aAgain = await deadLetter(
      db(),
      { id: a.eventId, type: row!.type, source: row!.source, data: row!.data },
      "webhook-dispatcher/events",
    );
    const res = await post("/replay", { ids: [a.id, b.id, aAgain, a.id] });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.items.map((i: { id: string }) => i.id).sort()).toEqual([a.id, b.id, aAgain].sort());
    await t.deps.events.idle();
    for (const id of [a.id, b.id, aAgain]) expect(await auditOf(id)).toHaveLength(1);
    expect(t.h.publisher.events.filter((e) => e.id === a.eventId)).toHaveLength(1);
    expect(t.h.publisher.events.filter((e) => e.id === b.eventId)).toHaveLength(1);
  });

  it("replays all or none: one bad letter refuses the batch with one entry per bad letter", async () => {
    const good = await letterOfOutboxEvent();
    const bad = await deadLetter(db(), {
      id: "not-from-the-outbox",
      type: "dev.minispod.user.password_changed",
      source: "auth",
      data: { userId: t.customer.id, email: "c@example.com" },
    });
    const res = await post("/replay", { ids: [good.id, bad] });
    expect(res.status).toBe(422);
    expect((await res.json()).letters.map((l: { id: string }) => l.id)).toEqual([bad]);
    const [letter] = await db().select().from(deadEvents).where(eq(deadEvents.id, good.id));
    expect(letter!.replayedAt).toBeNull();
  });

  it("answers 404 naming the unknown ids", async () => {
    const good = await letterOfOutboxEvent();
    const unknown = randomUUID();
    const res = await post("/replay", { ids: [good.id, unknown] });
    expect(res.status).toBe(404);
    expect((await res.json()).missing).toEqual([unknown]);
  });

  it("answers 400 to an empty list, more than 100 ids, a non-UUID, or no list", async () => {
    const many = Array.from({ length: 101 }, () => randomUUID());
    for (const body of [{ ids: [] }, { ids: many }, { ids: ["x"] }, {}, { ids: "all" }]) {
      const res = await post("/replay", body);
      expect(res.status, JSON.stringify(body).slice(0, 40)).toBe(400);
      expect((await res.json()).code).toBe("VALIDATION_FAILED");
    }
  });
});

describe("DELETE /api/v1/admin/dead-letters/:id", () => {
  it("discards the letter for good and audits it", async () => {
    const { id, eventId } = await letterOfOutboxEvent();
    const del = (path: string) =>
      t.app.request(`${BASE}${path}`, { method: "DELETE", headers: as("admin") });
    const res = await del(`/${id}`);
    expect(res.status).toBe(204);
    expect(await db().select().from(deadEvents).where(eq(deadEvents.id, id))).toHaveLength(0);
    expect(await auditOf(id)).toEqual([
      expect.objectContaining({
        action: "dead_letter.discarded",
        actorId: t.admin.id,
        metadata: expect.objectContaining({ eventId, source: "auth" }),
      }),
    ]);
    expect((await del(`/${id}`)).status).toBe(404);
    expect((await del("/nope")).status).toBe(400);
  });
});

describe("security", () => {
  let id: string = randomUUID();
  beforeAll(async () => {
    id = (await letterOfOutboxEvent()).id;
  });
  const roles = ["ADMIN" as const, "SUPER_ADMIN" as const];
  for (const route of [
    { method: "GET" as const, path: BASE },
    { method: "GET" as const, path: () => `${BASE}/${id}` },
    { method: "POST" as const, path: `${BASE}/replay`, body: { ids: [randomUUID()] } },
    { method: "POST" as const, path: () => `${BASE}/${id}/replay` },
    { method: "DELETE" as const, path: () => `${BASE}/${id}` },
  ]) {
    runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), { ...route, roles });
  }

  it("a customer's 403 changes nothing", async () => {
    const res = await post(`/${id}/replay`, undefined, "customer");
    expect(res.status).toBe(403);
    const [letter] = await db().select().from(deadEvents).where(eq(deadEvents.id, id));
    expect(letter!.replayedAt).toBeNull();
  });
});

describe("API document", () => {
  it("describes every dead-letter operation with its id, response and error statuses", async () => {
    const document = (await (await t.app.request("/openapi.json")).json()) as OpenApiDocument;
    const ours = Object.fromEntries(
      Object.entries(document.paths).filter(([path]) => path.startsWith(BASE)),
    ) as OpenApiDocument["paths"];
    expect(documentGaps({ ...document, paths: ours })).toEqual([]);
    const operation = (path: string, method: string) =>
      (ours[path] as Record<string, { operationId: string; responses: Record<string, unknown> }>)[
        method
      ]!;
    const expected: [string, string, string, string[]][] = [
      [BASE, "get", "admin.deadLetters.list", ["200", "400", "401", "403"]],
      [`${BASE}/{id}`, "get", "admin.deadLetters.get", ["200", "400", "401", "403", "404"]],
      [`${BASE}/replay`, "post", "admin.deadLetters.replayMany", ["200", "404", "409", "422"]],
      [`${BASE}/{id}/replay`, "post", "admin.deadLetters.replay", ["200", "404", "409", "422"]],
      [`${BASE}/{id}`, "delete", "admin.deadLetters.discard", ["204", "403", "404"]],
    ];
    for (const [path, method, id, statuses] of expected) {
      const op = operation(path, method);
      expect(op.operationId).toBe(id);
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(statuses));
    }
  });
});
