import { json } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CatalogTest, type ServiceBody, setupCatalog } from "./helpers";

/** Optimistic concurrency on catalog edits: ETag on reads, If-Match honoured on PATCH. */
let t: CatalogTest;
let service: ServiceBody;
beforeAll(async () => {
  t = await setupCatalog();
  service = await t.create();
});
afterAll(() => t.h.close());

const read = async (slug: string) => {
  const res = await t.app.request(`/api/v1/services/${slug}`);
  expect(res.status).toBe(200);
  return { etag: res.headers.get("etag")!, body: (await res.json()) as ServiceBody };
};
const patch = (slug: string, body: unknown, headers: Record<string, string> = {}) =>
  t.app.request(
    `/api/v1/services/${slug}`,
    json(body, { ...t.h.bearer(t.admin), ...headers }, "PATCH"),
  );

describe("catalog ETag and If-Match", () => {
  it("a read answers a strong ETag that changes when the entry changes", async () => {
    const first = await read(service.slug);
    expect(first.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect((await read(service.slug)).etag).toBe(first.etag);
    const res = await patch(service.slug, { name: "Renamed once" }, { "if-match": first.etag });
    expect(res.status).toBe(200);
    const after = await read(service.slug);
    expect(after.etag).not.toBe(first.etag);
    // The update answers the new version's tag.
    expect(res.headers.get("etag")).toBe(after.etag);
  });

  it("refuses a stale If-Match with 412 and changes nothing", async () => {
    const before = await read(service.slug);
    // Another admin updates first.
    expect(
      (await patch(service.slug, { name: "Theirs" }, { "if-match": before.etag })).status,
    ).toBe(200);
    const res = await patch(service.slug, { name: "Mine" }, { "if-match": before.etag });
    expect(res.status).toBe(412);
    const problem = (await res.json()) as { code: string; etag: string };
    expect(problem.code).toBe("PRECONDITION_FAILED");
    const now = await read(service.slug);
    expect(problem.etag).toBe(now.etag);
    expect(now.body.name).toBe("Theirs");
  });

  it("accepts * and a list containing the current tag; an update without If-Match still applies", async () => {
    const { etag } = await read(service.slug);
    expect((await patch(service.slug, { name: "Any" }, { "if-match": "*" })).status).toBe(200);
    const current = (await read(service.slug)).etag;
    expect(
      (await patch(service.slug, { name: "Listed" }, { "if-match": `${etag}, ${current}` })).status,
    ).toBe(200);
    expect((await patch(service.slug, { name: "Unconditional" })).status).toBe(200);
  });

  it("a weak tag never matches (strong comparison)", async () => {
    const { etag } = await read(service.slug);
    expect((await patch(service.slug, { name: "Weak" }, { "if-match": `W/${etag}` })).status).toBe(
      412,
    );
  });

  it("checks the tag after the usual refusals: no token 401, a customer 403, unknown slug 404", async () => {
    const { etag } = await read(service.slug);
    const anonymous = await t.app.request(`/api/v1/services/${service.slug}`, {
      ...json({ name: "x" }, { "if-match": etag }, "PATCH"),
    });
    expect(anonymous.status).toBe(401);
    const customer = await t.app.request(
      `/api/v1/services/${service.slug}`,
      json({ name: "x" }, { ...t.h.bearer(t.customer), "if-match": etag }, "PATCH"),
    );
    expect(customer.status).toBe(403);
    expect((await patch("no-such-service", { name: "x" }, { "if-match": etag })).status).toBe(404);
  });
});
