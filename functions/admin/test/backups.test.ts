import { randomUUID } from "node:crypto";
import { backups } from "@minispod/db";
import { runRouteSecurityTests } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AdminTest, invalidFields, seedHolding, setupAdmin } from "./helpers";

let t: AdminTest;
let mineInstance: string;
let theirsInstance: string;

async function backupOf(instanceId: string, userId: string, status: "READY" | "FAILED" = "READY") {
  const id = randomUUID();
  await t.h.database.db.insert(backups).values({
    id,
    instanceId,
    userId,
    kind: "SCHEDULED",
    status,
    snapshotName: `b-${id}`,
    sizeBytes: status === "READY" ? 4096 : null,
  });
  return id;
}

beforeAll(async () => {
  t = await setupAdmin();
  const mine = await seedHolding(t.h.database.db, t.customer.id, { instance: "RUNNING" });
  const theirs = await seedHolding(t.h.database.db, t.other.id, { instance: "RUNNING" });
  mineInstance = mine.instanceId!;
  theirsInstance = theirs.instanceId!;
});
afterAll(() => t.close());

const list = (query = "", user = t.admin) =>
  t.app.request(`/api/v1/admin/backups${query}`, { headers: t.h.bearer(user) });

describe("GET /api/v1/admin/backups", () => {
  it("lists an account's and an instance's backups with size and state", async () => {
    const a = await backupOf(mineInstance, t.customer.id);
    const b = await backupOf(theirsInstance, t.other.id, "FAILED");
    const byUser = await list(`?userId=${t.customer.id}`);
    expect(byUser.status).toBe(200);
    const page = (await byUser.json()) as { items: { id: string; sizeBytes: number | null }[] };
    expect(page.items.map((x) => x.id)).toEqual([a]);
    expect(page.items[0]?.sizeBytes).toBe(4096);
    const byInstance = (await (await list(`?instanceId=${theirsInstance}`)).json()) as {
      items: { id: string; status: string }[];
    };
    expect(byInstance.items.map((x) => [x.id, x.status])).toEqual([[b, "FAILED"]]);
    const all = (await (await list("?limit=100")).json()) as { items: { id: string }[] };
    expect(all.items.map((x) => x.id)).toEqual(expect.arrayContaining([a, b]));
  });

  it("rejects malformed filters and page sizes with the fields named", async () => {
    const response = await list("?userId=nope&limit=0");
    expect(response.status).toBe(400);
    expect((await invalidFields(response)).sort()).toEqual(["limit", "userId"]);
  });

  it("answers 403 to a customer, even for their own backups", async () => {
    expect((await list(`?userId=${t.customer.id}`, t.customer)).status).toBe(403);
  });

  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
    method: "GET",
    path: "/api/v1/admin/backups",
    roles: ["ADMIN", "SUPER_ADMIN"],
  });
});
