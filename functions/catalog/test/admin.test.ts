import { auditLog, serviceCatalog } from "@minispod/db";
import { json, runRouteSecurityTests } from "@minispod/shared/testing";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CatalogTest, type ServiceBody, serviceBody, setupCatalog } from "./helpers";

let t: CatalogTest;
let existing: ServiceBody;
beforeAll(async () => {
  t = await setupCatalog();
  existing = await t.create();
});
afterAll(() => t.h.close());

const patch = (slug: string, body: unknown) =>
  t.app.request(`/api/v1/services/${slug}`, json(body, t.h.bearer(t.admin), "PATCH"));
const retire = (slug: string) =>
  t.app.request(`/api/v1/services/${slug}/retire`, {
    method: "POST",
    headers: t.h.bearer(t.admin),
  });

async function auditRows(resourceId: string) {
  return t.h.database.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.resourceType, "service"), eq(auditLog.resourceId, resourceId)))
    .orderBy(auditLog.createdAt);
}

describe("admin: create", () => {
  it("creates an entry (201, Location, full shape with defaultEnv) and audits it", async () => {
    const body = serviceBody({ slug: "my-app" });
    const res = await t.app.request(
      "/api/v1/services",
      json(body, { ...t.h.bearer(t.admin), "user-agent": "ops-console/1.0" }),
    );
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe("/api/v1/services/my-app");
    const created = (await res.json()) as ServiceBody;
    expect(created).toEqual({
      id: expect.any(String),
      slug: "my-app",
      name: body.name,
      description: body.description,
      image: body.image,
      imageTag: body.imageTag,
      port: body.port,
      defaultEnv: body.defaultEnv,
      resources: body.resources,
      price: body.price,
      active: true,
      allowMultiple: false,
      scaleToZero: false,
      workload: {},
      retiredAt: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const [row] = await auditRows(created.id);
    expect(row).toMatchObject({
      actorId: t.admin.id,
      actorRole: "ADMIN",
      action: "service.created",
      // The catalog is the platform's: in no customer's trail.
      ownerId: null,
    });
    expect(row?.requestId).toBe(res.headers.get("x-request-id"));
    expect(row?.userAgent).toBe("ops-console/1.0");
  });

  it("fills defaults for optional fields", async () => {
    const { description, defaultEnv, allowMultiple, scaleToZero, ...minimal } = serviceBody();
    const res = await t.app.request(
      "/api/v1/services",
      json(
        {
          ...minimal,
          resources: { cpu: "1", memory: "1Gi" },
          price: { amountMinor: 0, currency: "USD" },
        },
        t.h.bearer(t.admin),
      ),
    );
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({
      description: "",
      defaultEnv: {},
      allowMultiple: false,
      scaleToZero: false,
      resources: { storage: null, storageMountPath: null },
      price: { amountMinor: 0, currency: "USD", period: "MONTHLY" },
    });
  });

  it("lets a SUPER_ADMIN create too", async () => {
    const boss = await t.h.user({ role: "SUPER_ADMIN" });
    const res = await t.app.request("/api/v1/services", json(serviceBody(), t.h.bearer(boss)));
    expect(res.status).toBe(201);
  });

  it("answers 409 CONFLICT for a taken slug, retired entries included, and writes nothing", async () => {
    const res = await t.app.request(
      "/api/v1/services",
      json(serviceBody({ slug: existing.slug }), t.h.bearer(t.admin)),
    );
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: "CONFLICT", errors: [{ field: "slug" }] });
    expect(await auditRows(existing.id)).toHaveLength(1);

    const gone = await t.create();
    await retire(gone.slug);
    const again = await t.app.request(
      "/api/v1/services",
      json(serviceBody({ slug: gone.slug }), t.h.bearer(t.admin)),
    );
    expect(again.status).toBe(409);
  });
});

describe("admin: update", () => {
  it("changes only the given fields and audits the changes", async () => {
    const s = await t.create({ name: "Before" });
    const res = await patch(s.slug, {
      name: "After",
      resources: { memory: "1Gi" },
      price: { amountMinor: 999 },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as ServiceBody;
    expect(body).toMatchObject({
      name: "After",
      resources: { cpu: "250m", memory: "1Gi", storage: "1Gi", storageMountPath: "/data" },
      price: { amountMinor: 999, currency: "EUR" },
    });
    const rows = await auditRows(s.id);
    expect(rows.map((r) => r.action)).toEqual(["service.created", "service.updated"]);
    expect(rows[1]?.metadata).toEqual({
      slug: s.slug,
      changes: {
        name: { from: "Before", to: "After" },
        "resources.memory": { from: "256Mi", to: "1Gi" },
        "price.amountMinor": { from: 499, to: 999 },
      },
    });
  });

  it("replaces defaultEnv as a whole and removes storage with nulls", async () => {
    const s = await t.create();
    const res = await patch(s.slug, {
      defaultEnv: { ONLY: "this" },
      resources: { storage: null, storageMountPath: null },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      defaultEnv: { ONLY: "this" },
      resources: { storage: null, storageMountPath: null },
    });
  });

  it("writes nothing for a request that changes nothing", async () => {
    const s = await t.create();
    const res = await patch(s.slug, { name: "Test App" });
    expect(res.status).toBe(200);
    expect((await res.json()) as ServiceBody).toMatchObject({ updatedAt: s.updatedAt });
    expect(await auditRows(s.id)).toHaveLength(1);
  });

  it("rejects a slug change and the storage pair rule after merging", async () => {
    const s = await t.create();
    const slugChange = await patch(s.slug, { slug: "other" });
    expect(slugChange.status).toBe(400);
    expect(await slugChange.json()).toMatchObject({
      errors: [{ field: "slug", message: expect.stringContaining("cannot be changed") }],
    });
    const half = await patch(s.slug, { resources: { storage: null } });
    expect(half.status).toBe(400);
    expect(await half.json()).toMatchObject({ errors: [{ field: "resources.storageMountPath" }] });
    const [row] = await t.h.database.db
      .select()
      .from(serviceCatalog)
      .where(eq(serviceCatalog.id, s.id));
    expect(row?.storage).toBe("1Gi");
  });

  it("sets how the container runs (workload): shown to admins only, replaced as a whole, audited", async () => {
    const workload = {
      podSecurity: "baseline",
      runAsUser: null,
      generatedSecrets: ["APP_KEY"],
      probePath: "/healthz",
      credentials: [{ secret: "APP_KEY", label: "Admin key", username: "admin", path: "/admin" }],
      imageDigest: `sha256:${"0f".repeat(32)}`,
      readOnlyRootFilesystem: true,
      writablePaths: ["/var/cache/app"],
      ephemeralStorage: "2Gi",
    };
    const res = await t.app.request(
      "/api/v1/services",
      json(serviceBody({ slug: "root-app", workload }), t.h.bearer(t.admin)),
    );
    expect(res.status).toBe(201);
    const created = (await res.json()) as ServiceBody & { workload: unknown };
    expect(created.workload).toEqual(workload);
    const [row] = await t.h.database.db
      .select()
      .from(serviceCatalog)
      .where(eq(serviceCatalog.id, created.id));
    expect(row?.workload).toEqual(workload);
    const publicView = await t.app.request("/api/v1/services/root-app");
    expect(await publicView.json()).not.toHaveProperty("workload");

    const hardened = await patch("root-app", { workload: { runAsUser: 10001 } });
    expect(hardened.status).toBe(200);
    expect(await hardened.json()).toMatchObject({ workload: { runAsUser: 10001 } });
    const [after] = await t.h.database.db
      .select()
      .from(serviceCatalog)
      .where(eq(serviceCatalog.id, created.id));
    expect(after?.workload).toEqual({ runAsUser: 10001 });
    const audits = await auditRows(created.id);
    expect(audits.at(-1)?.metadata).toMatchObject({
      changes: { workload: { from: workload, to: { runAsUser: 10001 } } },
    });
  });

  it.each([
    ["root without baseline", { runAsUser: null }, "workload.runAsUser"],
    ["root as UID 0", { podSecurity: "baseline", runAsUser: 0 }, "workload.runAsUser"],
    ["an unknown level", { podSecurity: "privileged" }, "workload.podSecurity"],
    ["a repeated secret", { generatedSecrets: ["A", "A"] }, "workload.generatedSecrets"],
    ["a bad secret name", { generatedSecrets: ["1X"] }, "workload.generatedSecrets.0"],
    [
      "a secret shadowing defaultEnv",
      { generatedSecrets: ["LOG_LEVEL"] },
      "workload.generatedSecrets",
    ],
    ["a relative probe path", { probePath: "healthz" }, "workload.probePath"],
    [
      "a credential that is not a generated secret",
      { generatedSecrets: ["A"], credentials: [{ secret: "B", label: "Admin" }] },
      "workload.credentials",
    ],
    ["a tag as digest", { imageDigest: "latest" }, "workload.imageDigest"],
    [
      "a relative writable path",
      { readOnlyRootFilesystem: true, writablePaths: ["tmp"] },
      "workload.writablePaths.0",
    ],
    [
      "writable paths without a read-only root",
      { writablePaths: ["/var/cache"] },
      "workload.writablePaths",
    ],
    ["a bad scratch size", { ephemeralStorage: "lots" }, "workload.ephemeralStorage"],
    [
      "a credential without a label",
      { generatedSecrets: ["A"], credentials: [{ secret: "A", label: " " }] },
      "workload.credentials.0.label",
    ],
    ["an unknown key", { privileged: true }, "workload.privileged"],
  ])(
    "refuses a workload with %s (400, names the field, writes nothing)",
    async (_, workload, field) => {
      const slug = `bad-${Math.random().toString(36).slice(2, 8)}`;
      const res = await t.app.request(
        "/api/v1/services",
        json(
          serviceBody({ slug, defaultEnv: { LOG_LEVEL: "info" }, workload }),
          t.h.bearer(t.admin),
        ),
      );
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ errors: [{ field }] });
      const rows = await t.h.database.db
        .select()
        .from(serviceCatalog)
        .where(eq(serviceCatalog.slug, slug));
      expect(rows).toHaveLength(0);
    },
  );

  it("checks the workload rules on the merged entry of a patch", async () => {
    const s = await t.create();
    const res = await patch(s.slug, { workload: { runAsUser: null } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errors: [{ field: "workload.runAsUser" }] });
    const [row] = await t.h.database.db
      .select()
      .from(serviceCatalog)
      .where(eq(serviceCatalog.id, s.id));
    expect(row?.workload).toEqual({});
  });

  it("may update a retired entry, which stays retired", async () => {
    const s = await t.create();
    await retire(s.slug);
    const res = await patch(s.slug, { imageTag: "1.2.4" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ imageTag: "1.2.4", active: false });
  });

  it("answers 404 for an unknown slug", async () => {
    const res = await patch("no-such-app", { name: "x" });
    expect(res.status).toBe(404);
  });
});

describe("admin: retire", () => {
  it("sets active false and retiredAt, audits once, and is idempotent", async () => {
    const s = await t.create();
    const first = await retire(s.slug);
    expect(first.status).toBe(200);
    const body = (await first.json()) as ServiceBody;
    expect(body.active).toBe(false);
    expect(body.retiredAt).toEqual(expect.any(String));
    const second = await retire(s.slug);
    expect(second.status).toBe(200);
    expect(((await second.json()) as ServiceBody).retiredAt).toBe(body.retiredAt);
    expect((await auditRows(s.id)).map((r) => r.action)).toEqual([
      "service.created",
      "service.retired",
    ]);
  });

  it("answers 404 for an unknown slug", async () => {
    expect((await retire("no-such-app")).status).toBe(404);
  });
});

describe("admin: malformed requests", () => {
  it("answers 400 MALFORMED_JSON to broken JSON", async () => {
    const res = await t.app.request("/api/v1/services", {
      method: "POST",
      headers: { ...t.h.bearer(t.admin), "content-type": "application/json" },
      body: '{"slug": ',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "MALFORMED_JSON" });
  });

  it("answers 415 to a body that is not JSON", async () => {
    const res = await t.app.request(`/api/v1/services/${existing.slug}`, {
      method: "PATCH",
      headers: { ...t.h.bearer(t.admin), "content-type": "text/plain" },
      body: "name=x",
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE" });
  });

  it("answers 400 to a JSON body that is not an object", async () => {
    const res = await t.app.request("/api/v1/services", json([1, 2], t.h.bearer(t.admin)));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "VALIDATION_FAILED" });
  });
});

const setup = () => ({ app: t.app, harness: t.h });
const admins = ["ADMIN", "SUPER_ADMIN"] as const;
runRouteSecurityTests(setup, {
  method: "POST",
  path: "/api/v1/services",
  body: serviceBody(),
  roles: [...admins],
});
runRouteSecurityTests(setup, {
  method: "PATCH",
  path: () => `/api/v1/services/${existing.slug}`,
  body: { name: "Hijacked" },
  roles: [...admins],
});
runRouteSecurityTests(setup, {
  method: "POST",
  path: () => `/api/v1/services/${existing.slug}/retire`,
  roles: [...admins],
});
runRouteSecurityTests(setup, {
  method: "GET",
  path: "/api/v1/services?includeRetired=true",
  roles: [...admins],
});

describe("admin: denied requests change nothing", () => {
  it("leaves the entry untouched after every denied call above", async () => {
    const res = await t.app.request(`/api/v1/services/${existing.slug}`);
    expect(await res.json()).toMatchObject({ name: existing.name, active: true });
  });
});
