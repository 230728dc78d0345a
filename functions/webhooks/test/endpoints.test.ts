import { auditLog, webhookEndpoints } from "@minispod/db";
import type { AppEnv } from "@minispod/shared";
import { createHarness, type Harness, json, type TestUser } from "@minispod/shared/testing";
import { eq } from "drizzle-orm";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webhooksFunction } from "../src/function";
import { bearer, createEndpoint, type EndpointBody } from "./helpers";

let h: Harness;
let app: Hono<AppEnv>;

beforeAll(async () => {
  h = await createHarness();
  // Guard on (the default): http and private destinations are refused.
  app = await h.app(webhooksFunction, { WEBHOOK_MAX_ENDPOINTS: "8" });
});
afterAll(() => h.close());

const valid = { url: "https://hooks.example.com/minispod", events: ["subscription.activated"] };

describe("happy path", () => {
  let alice: TestUser;
  beforeAll(async () => {
    alice = await h.user();
  });

  it("creates an endpoint and shows its secret once", async () => {
    const created = await createEndpoint(app, alice, { ...valid, description: " billing hooks " });
    expect(created).toMatchObject({
      url: valid.url,
      events: ["subscription.activated"],
      enabled: true,
      description: "billing hooks",
      userId: alice.id,
    });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(created.secret.slice("whsec_".length), "base64")).toHaveLength(32);

    const shown = await app.request(`/api/v1/webhooks/${created.id}`, { headers: bearer(alice) });
    expect(shown.status).toBe(200);
    const body = (await shown.json()) as EndpointBody;
    expect(body.id).toBe(created.id);
    expect(JSON.stringify(body)).not.toContain(created.secret);
    expect(body).not.toHaveProperty("secret");
  });

  it('normalises "*" and duplicate event types', async () => {
    const all = await createEndpoint(app, alice, {
      url: valid.url,
      events: ["instance.running", "*"],
    });
    expect(all.events).toEqual(["*"]);
    const twice = await createEndpoint(app, alice, {
      url: valid.url,
      events: ["invoice.paid", "invoice.paid", "payment.failed"],
    });
    expect(twice.events).toEqual(["invoice.paid", "payment.failed"]);
  });

  it("lists the caller's endpoints newest first with cursor pagination", async () => {
    const carol = await h.user();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await createEndpoint(app, carol, valid)).id);
    const first = await app.request("/api/v1/webhooks?limit=2", { headers: bearer(carol) });
    const page1 = (await first.json()) as { items: EndpointBody[]; nextCursor: string | null };
    expect(page1.items.map((e) => e.id)).toEqual([ids[2], ids[1]]);
    expect(page1.items.every((e) => !("secret" in e))).toBe(true);
    const second = await app.request(`/api/v1/webhooks?limit=2&cursor=${page1.nextCursor}`, {
      headers: bearer(carol),
    });
    expect(await second.json()).toMatchObject({ items: [{ id: ids[0] }], nextCursor: null });
  });

  it("updates url, events and description", async () => {
    const created = await createEndpoint(app, alice, valid);
    const response = await app.request(
      `/api/v1/webhooks/${created.id}`,
      json(
        { url: "https://other.example.com/in", events: ["instance.failed"], description: "ops" },
        bearer(alice),
        "PATCH",
      ),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      url: "https://other.example.com/in",
      events: ["instance.failed"],
      description: "ops",
    });
  });

  it("disables on request, and re-enabling clears the failure history", async () => {
    const created = await createEndpoint(app, alice, valid);
    const patch = (enabled: boolean) =>
      app.request(`/api/v1/webhooks/${created.id}`, json({ enabled }, bearer(alice), "PATCH"));
    expect(await (await patch(false)).json()).toMatchObject({
      enabled: false,
      disabledReason: "Disabled by its owner.",
    });
    await h.database.db
      .update(webhookEndpoints)
      .set({
        failingSince: new Date("2030-01-01T00:00:00Z"),
        disabledReason: "The endpoint answered 410 Gone.",
      })
      .where(eq(webhookEndpoints.id, created.id));
    expect(await (await patch(true)).json()).toMatchObject({
      enabled: true,
      disabledReason: null,
      failingSince: null,
    });
  });

  it("deletes an endpoint", async () => {
    const created = await createEndpoint(app, alice, valid);
    const deleted = await app.request(`/api/v1/webhooks/${created.id}`, {
      method: "DELETE",
      headers: bearer(alice),
    });
    expect(deleted.status).toBe(204);
    const gone = await app.request(`/api/v1/webhooks/${created.id}`, { headers: bearer(alice) });
    expect(gone.status).toBe(404);
  });

  it("writes audit rows for create, update, rotate and delete, never with a secret", async () => {
    const dave = await h.user();
    const created = await createEndpoint(app, dave, valid);
    const base = `/api/v1/webhooks/${created.id}`;
    await app.request(base, json({ description: "x" }, bearer(dave), "PATCH"));
    const rotated = await app.request(`${base}/rotate-secret`, {
      method: "POST",
      headers: bearer(dave),
    });
    const { secret } = (await rotated.json()) as { secret: string };
    await app.request(base, { method: "DELETE", headers: bearer(dave) });
    const rows = await h.database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.resourceId, created.id));
    expect(rows.map((r) => r.action).sort()).toEqual([
      "webhook.created",
      "webhook.deleted",
      "webhook.secret_rotated",
      "webhook.updated",
    ]);
    expect(
      rows.every(
        (r) =>
          r.actorId === dave.id && r.ownerId === dave.id && r.resourceType === "webhook_endpoint",
      ),
    ).toBe(true);
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(created.secret);
    expect(dump).not.toContain(secret);
  });
});

describe("validation", () => {
  let alice: TestUser;
  beforeAll(async () => {
    alice = await h.user();
  });
  const post = (body: unknown) => app.request("/api/v1/webhooks", json(body, bearer(alice)));
  const fieldsOf = async (response: Response) => {
    expect(response.status).toBe(400);
    const body = (await response.json()) as {
      code: string;
      errors: { field: string; message: string }[];
    };
    expect(body.code).toBe("VALIDATION_FAILED");
    return body.errors.map((e) => e.field);
  };

  it.each([
    ["plain http", "http://hooks.example.com/x", "must use https"],
    ["another scheme", "ftp://hooks.example.com/x", "must use https"],
    ["not a URL", "hooks.example.com", "must be an absolute URL"],
    ["credentials", "https://user:pass@hooks.example.com/x", "must not contain credentials"],
    ["a fragment", "https://hooks.example.com/x#frag", "must not contain a fragment"],
    ["loopback", "https://127.0.0.1/x", "must not point at a private"],
    ["IPv6 loopback", "https://[::1]/x", "must not point at a private"],
    ["a private network", "https://10.1.2.3/x", "must not point at a private"],
    ["cloud metadata", "https://169.254.169.254/latest", "must not point at a private"],
    ["localhost", "https://localhost:8443/x", "must not point at a private"],
    ["too long", `https://hooks.example.com/${"a".repeat(2048)}`, "at most 2048"],
    ["empty", "  ", "is required"],
  ])("refuses a URL with %s", async (_, url, message) => {
    const response = await post({ ...valid, url });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: { field: string; message: string }[] };
    expect(body.errors).toEqual([{ field: "url", message: expect.stringContaining(message) }]);
  });

  it("refuses unknown and non-customer-facing event types", async () => {
    expect(
      await fieldsOf(await post({ ...valid, events: ["subscription.activated", "nope"] })),
    ).toEqual(["events.1"]);
    expect(await fieldsOf(await post({ ...valid, events: ["user.registered"] }))).toEqual([
      "events.0",
    ]);
    expect(await fieldsOf(await post({ ...valid, events: ["webhook.endpoint_disabled"] }))).toEqual(
      ["events.0"],
    );
    expect(await fieldsOf(await post({ ...valid, events: [] }))).toEqual(["events"]);
    expect(await fieldsOf(await post({ ...valid, events: "subscription.activated" }))).toEqual([
      "events",
    ]);
  });

  it("refuses missing fields, wrong types and a long description", async () => {
    expect((await fieldsOf(await post({}))).sort()).toEqual(["events", "url"]);
    expect(await fieldsOf(await post({ ...valid, url: 42 }))).toEqual(["url"]);
    expect(await fieldsOf(await post({ ...valid, description: "d".repeat(501) }))).toEqual([
      "description",
    ]);
  });

  it("answers 400 to malformed JSON and 415 to another content type", async () => {
    const malformed = await app.request("/api/v1/webhooks", {
      method: "POST",
      headers: { ...bearer(alice), "content-type": "application/json" },
      body: "{",
    });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { code: string }).code).toBe("MALFORMED_JSON");
    const text = await app.request("/api/v1/webhooks", {
      method: "POST",
      headers: { ...bearer(alice), "content-type": "text/plain" },
      body: "url=x",
    });
    expect(text.status).toBe(415);
  });

  it("refuses an empty or invalid update and a non-UUID id", async () => {
    const created = await createEndpoint(app, alice, valid);
    const patch = (body: unknown) =>
      app.request(`/api/v1/webhooks/${created.id}`, json(body, bearer(alice), "PATCH"));
    expect(await fieldsOf(await patch({}))).toEqual([""]);
    expect(await fieldsOf(await patch({ enabled: "yes" }))).toEqual(["enabled"]);
    expect(await fieldsOf(await patch({ url: "http://x.example.com" }))).toEqual(["url"]);
    expect(
      await fieldsOf(await app.request("/api/v1/webhooks/not-a-uuid", { headers: bearer(alice) })),
    ).toEqual(["id"]);
    expect(
      await fieldsOf(await app.request("/api/v1/webhooks?limit=0", { headers: bearer(alice) })),
    ).toEqual(["limit"]);
  });

  it("caps the endpoints per customer (WEBHOOK_MAX_ENDPOINTS)", async () => {
    const erin = await h.user();
    for (let i = 0; i < 8; i++) await createEndpoint(app, erin, valid);
    const sixth = await app.request("/api/v1/webhooks", json(valid, bearer(erin)));
    expect(sixth.status).toBe(409);
  });
});

describe("ownership", () => {
  let alice: TestUser;
  let bob: TestUser;
  let admin: TestUser;
  let endpoint: EndpointBody;
  beforeAll(async () => {
    alice = await h.user();
    bob = await h.user();
    admin = await h.user({ role: "ADMIN" });
    endpoint = await createEndpoint(app, alice, valid);
  });

  it("answers 404 to another customer on every route, and changes nothing", async () => {
    const base = `/api/v1/webhooks/${endpoint.id}`;
    const delivery = "00000000-0000-4000-8000-000000000000";
    const calls: [string, RequestInit][] = [
      [base, { headers: bearer(bob) }],
      [base, json({ description: "mine now" }, bearer(bob), "PATCH")],
      [base, { method: "DELETE", headers: bearer(bob) }],
      [`${base}/rotate-secret`, { method: "POST", headers: bearer(bob) }],
      [`${base}/test`, { method: "POST", headers: bearer(bob) }],
      [`${base}/deliveries`, { headers: bearer(bob) }],
      [`${base}/deliveries/${delivery}`, { headers: bearer(bob) }],
      [`${base}/deliveries/${delivery}/redeliver`, { method: "POST", headers: bearer(bob) }],
    ];
    for (const [path, init] of calls) {
      const response = await app.request(path, init);
      expect(response.status, `${init.method ?? "GET"} ${path}`).toBe(404);
    }
    const list = await app.request("/api/v1/webhooks", { headers: bearer(bob) });
    expect(((await list.json()) as { items: unknown[] }).items).toEqual([]);
    const [row] = await h.database.db
      .select()
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.id, endpoint.id));
    expect(row).toMatchObject({ description: "", enabled: true, previousSecret: null });
  });

  it("lets an admin read any endpoint and list a customer's, but not change them", async () => {
    const base = `/api/v1/webhooks/${endpoint.id}`;
    expect((await app.request(base, { headers: bearer(admin) })).status).toBe(200);
    expect((await app.request(`${base}/deliveries`, { headers: bearer(admin) })).status).toBe(200);
    const listed = await app.request(`/api/v1/webhooks?userId=${alice.id}`, {
      headers: bearer(admin),
    });
    expect(await listed.json()).toMatchObject({ items: [{ id: endpoint.id }] });
    expect((await app.request(base, json({ enabled: false }, bearer(admin), "PATCH"))).status).toBe(
      404,
    );
    expect((await app.request(base, { method: "DELETE", headers: bearer(admin) })).status).toBe(
      404,
    );
  });

  it("answers 403 when a customer lists another user's endpoints", async () => {
    const response = await app.request(`/api/v1/webhooks?userId=${alice.id}`, {
      headers: bearer(bob),
    });
    expect(response.status).toBe(403);
  });
});
