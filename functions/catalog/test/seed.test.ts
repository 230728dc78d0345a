import { serviceCatalog } from "@minispod/db";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalogFunction, seedDemoCatalog } from "../src/function";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

describe("demo catalog seed", () => {
  it("creates the demo apps once and leaves them alone on later runs", async () => {
    const first = await seedDemoCatalog(h.database.db);
    expect(first.created).toBeGreaterThanOrEqual(4);
    await h.database.db
      .update(serviceCatalog)
      .set({ name: "Renamed by an admin" })
      .where(eq(serviceCatalog.slug, "gitea"));
    expect(await seedDemoCatalog(h.database.db)).toEqual({ created: 0 });
    const [gitea] = await h.database.db
      .select()
      .from(serviceCatalog)
      .where(eq(serviceCatalog.slug, "gitea"));
    expect(gitea?.name).toBe("Renamed by an admin");
  });

  it("serves the seeded apps through the public list", async () => {
    const app = await h.app(catalogFunction);
    const res = await app.request("/api/v1/services?limit=100");
    const body = (await res.json()) as {
      items: { slug: string; image: string; imageTag: string; port: number }[];
    };
    expect(body.items.find((s) => s.slug === "uptime-kuma")).toMatchObject({
      image: "louislam/uptime-kuma",
      imageTag: "1",
      port: 3001,
      resources: { storageMountPath: "/app/data" },
      price: { currency: "EUR" },
    });
    expect(body.items.map((s) => s.slug)).toEqual(
      expect.arrayContaining(["gitea", "vaultwarden", "n8n"]),
    );
  });
});
