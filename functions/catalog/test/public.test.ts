import { json } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CatalogTest, type ServiceBody, setupCatalog } from "./helpers";

let t: CatalogTest;
beforeAll(async () => {
  t = await setupCatalog();
});
afterAll(() => t.h.close());

interface ListBody {
  items: ServiceBody[];
  nextCursor: string | null;
}

async function list(query = "", headers: Record<string, string> = {}) {
  const res = await t.app.request(`/api/v1/services${query}`, { headers });
  return { res, body: (await res.json()) as ListBody };
}

async function retire(slug: string) {
  const res = await t.app.request(`/api/v1/services/${slug}/retire`, {
    method: "POST",
    headers: t.h.bearer(t.admin),
  });
  expect(res.status).toBe(200);
}

describe("public catalog: happy path", () => {
  it("lists active services newest first without a token", async () => {
    const older = await t.create();
    const newer = await t.create();
    const { res, body } = await list();
    expect(res.status).toBe(200);
    const slugs = body.items.map((s) => s.slug);
    expect(slugs.indexOf(newer.slug)).toBeLessThan(slugs.indexOf(older.slug));
    expect(body.items[0]).toMatchObject({
      slug: newer.slug,
      image: "ghcr.io/example/app",
      imageTag: "1.2.3",
      port: 8080,
      resources: { cpu: "250m", memory: "256Mi", storage: "1Gi", storageMountPath: "/data" },
      price: { amountMinor: 499, currency: "EUR", period: "MONTHLY" },
      active: true,
      retiredAt: null,
    });
  });

  it("shows one service by slug", async () => {
    const created = await t.create({ name: "Shown" });
    const res = await t.app.request(`/api/v1/services/${created.slug}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: created.id, slug: created.slug, name: "Shown" });
  });

  it("pages through the list with a cursor until nextCursor is null", async () => {
    const mine: string[] = [];
    for (let i = 0; i < 5; i++) mine.push((await t.create()).slug);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const { res, body } = await list(q);
      expect(res.status).toBe(200);
      expect(body.items.length).toBeLessThanOrEqual(2);
      seen.push(...body.items.map((s) => s.slug));
      cursor = body.nextCursor;
      pages++;
    } while (cursor && pages < 50);
    expect(cursor).toBeNull();
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.slice(0, 5)).toEqual([...mine].reverse());
    const { body: all } = await list("?limit=100");
    expect(seen).toEqual(all.items.map((s) => s.slug));
  });

  it("hides defaultEnv from visitors and customers, shows it to admins", async () => {
    const created = await t.create({ defaultEnv: { FEATURE_X: "on" } });
    const path = `/api/v1/services/${created.slug}`;
    const anonymous = (await (await t.app.request(path)).json()) as ServiceBody;
    const customer = (await (
      await t.app.request(path, { headers: t.h.bearer(t.customer) })
    ).json()) as ServiceBody;
    const admin = (await (
      await t.app.request(path, { headers: t.h.bearer(t.admin) })
    ).json()) as ServiceBody;
    expect(anonymous).not.toHaveProperty("defaultEnv");
    expect(customer).not.toHaveProperty("defaultEnv");
    expect(admin.defaultEnv).toEqual({ FEATURE_X: "on" });
    const { body } = await list("", t.h.bearer(t.admin));
    expect(body.items.find((s) => s.slug === created.slug)?.defaultEnv).toEqual({
      FEATURE_X: "on",
    });
    const { body: publicBody } = await list();
    expect(publicBody.items.every((s) => !("defaultEnv" in s))).toBe(true);
  });
});

describe("public catalog: retired entries", () => {
  it("leaves retired services out of the public list", async () => {
    const kept = await t.create();
    const gone = await t.create();
    await retire(gone.slug);
    const { body } = await list("?limit=100");
    const slugs = body.items.map((s) => s.slug);
    expect(slugs).toContain(kept.slug);
    expect(slugs).not.toContain(gone.slug);
  });

  it("still shows a retired service by slug, with active false and retiredAt", async () => {
    const gone = await t.create();
    await retire(gone.slug);
    const res = await t.app.request(`/api/v1/services/${gone.slug}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as ServiceBody;
    expect(body.active).toBe(false);
    expect(body.retiredAt).toEqual(expect.any(String));
  });

  it("lists retired services too for an admin asking includeRetired=true", async () => {
    const gone = await t.create();
    await retire(gone.slug);
    const { res, body } = await list("?includeRetired=true&limit=100", t.h.bearer(t.admin));
    expect(res.status).toBe(200);
    expect(body.items.find((s) => s.slug === gone.slug)).toMatchObject({ active: false });
  });
});

describe("public catalog: errors", () => {
  it("answers 404 problem+json for an unknown slug", async () => {
    const res = await t.app.request("/api/v1/services/no-such-app");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(await res.json()).toMatchObject({ status: 404, code: "NOT_FOUND" });
  });

  it("answers 400 for a slug that can never exist", async () => {
    const res = await t.app.request("/api/v1/services/Not_A_Slug");
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      code: "VALIDATION_FAILED",
      errors: [{ field: "slug" }],
    });
  });

  it("answers 400 for a bad limit, cursor or includeRetired", async () => {
    for (const q of [
      "?limit=0",
      "?limit=101",
      "?limit=abc",
      "?cursor=garbage",
      "?includeRetired=yes",
    ]) {
      const { res } = await list(q);
      expect(res.status, q).toBe(400);
    }
  });

  it("checks a token that is sent even on public routes", async () => {
    const res = await t.app.request("/api/v1/services", {
      headers: { authorization: "Bearer nope" },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: "INVALID_TOKEN" });
  });

  it("refuses includeRetired=true to visitors (401) and customers (403)", async () => {
    expect((await list("?includeRetired=true")).res.status).toBe(401);
    expect((await list("?includeRetired=true", t.h.bearer(t.customer))).res.status).toBe(403);
  });

  it("has no public write routes: a POST without a token is 401, not created", async () => {
    const res = await t.app.request("/api/v1/services", json({ slug: "sneaky" }));
    expect(res.status).toBe(401);
    expect((await t.app.request("/api/v1/services/sneaky")).status).toBe(404);
  });
});
