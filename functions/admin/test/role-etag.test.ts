import { json } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AdminTest, setupAdmin } from "./helpers";

/** Two SUPER_ADMINs changing one user's role: If-Match keeps the second from overwriting blind. */
let t: AdminTest;
beforeAll(async () => {
  t = await setupAdmin();
});
afterAll(() => t.close());

const read = async (id: string) => {
  const res = await t.app.request(`/api/v1/admin/users/${id}`, {
    headers: t.h.bearer(t.admin),
  });
  expect(res.status).toBe(200);
  return { etag: res.headers.get("etag")!, role: ((await res.json()) as { role: string }).role };
};
const setRole = (id: string, role: string, headers: Record<string, string> = {}) =>
  t.app.request(
    `/api/v1/admin/users/${id}/role`,
    json({ role }, { ...t.h.bearer(t.superAdmin), ...headers }, "PATCH"),
  );

describe("role changes with ETag and If-Match", () => {
  it("a read's ETag lets the change through and the answer carries the new version", async () => {
    const before = await read(t.other.id);
    expect(before.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const res = await setRole(t.other.id, "ADMIN", { "if-match": before.etag });
    expect(res.status).toBe(200);
    const after = await read(t.other.id);
    expect(after.role).toBe("ADMIN");
    expect(after.etag).not.toBe(before.etag);
    expect(res.headers.get("etag")).toBe(after.etag);
  });

  it("a tag read before someone else's change answers 412 and keeps their role", async () => {
    const stale = await read(t.other.id);
    expect((await setRole(t.other.id, "CUSTOMER", { "if-match": stale.etag })).status).toBe(200);
    const res = await setRole(t.other.id, "SUPER_ADMIN", { "if-match": stale.etag });
    expect(res.status).toBe(412);
    expect(((await res.json()) as { code: string }).code).toBe("PRECONDITION_FAILED");
    expect((await read(t.other.id)).role).toBe("CUSTOMER");
  });

  it("is checked after the role check: an ADMIN with the right tag is still 403", async () => {
    const { etag } = await read(t.other.id);
    const res = await t.app.request(
      `/api/v1/admin/users/${t.other.id}/role`,
      json({ role: "ADMIN" }, { ...t.h.bearer(t.admin), "if-match": etag }, "PATCH"),
    );
    expect(res.status).toBe(403);
  });

  it("without If-Match the change applies as before", async () => {
    expect((await setRole(t.other.id, "CUSTOMER")).status).toBe(200);
  });
});
