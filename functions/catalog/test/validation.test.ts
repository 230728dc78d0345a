import { json } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CatalogTest, serviceBody, setupCatalog } from "./helpers";

let t: CatalogTest;
beforeAll(async () => {
  t = await setupCatalog();
});
afterAll(() => t.h.close());

interface Problem {
  code: string;
  errors?: { field: string; message: string }[];
}

async function create(body: unknown) {
  const res = await t.app.request("/api/v1/services", json(body, t.h.bearer(t.admin)));
  return { status: res.status, body: (await res.json()) as Problem };
}

const base = serviceBody();
const withResources = (r: Record<string, unknown>) => ({ resources: { ...base.resources, ...r } });
const withPrice = (p: Record<string, unknown>) => ({ price: { ...base.price, ...p } });

// [what, overrides, offending field]
const invalid: [string, Record<string, unknown>, string][] = [
  ["slug with upper case", { slug: "MyApp" }, "slug"],
  ["slug starting with a hyphen", { slug: "-app" }, "slug"],
  ["slug ending with a hyphen", { slug: "app-" }, "slug"],
  ["slug longer than 40", { slug: "a".repeat(41) }, "slug"],
  ["slug with a dot", { slug: "my.app" }, "slug"],
  ["empty slug", { slug: "" }, "slug"],
  ["missing name", { name: undefined }, "name"],
  ["blank name", { name: "   " }, "name"],
  ["name too long", { name: "x".repeat(101) }, "name"],
  ["description not a string", { description: 5 }, "description"],
  ["image with a tag", { image: "gitea/gitea:1.22" }, "image"],
  ["image with a digest", { image: `gitea/gitea@sha256:${"a".repeat(64)}` }, "image"],
  ["image with upper-case path", { image: "Gitea/Gitea" }, "image"],
  ["image with a space", { image: "gitea gitea" }, "image"],
  ["image with a scheme", { image: "https://ghcr.io/a/b" }, "image"],
  ["empty image", { image: "" }, "image"],
  ["tag starting with a dot", { imageTag: ".1" }, "imageTag"],
  ["tag with a slash", { imageTag: "1/2" }, "imageTag"],
  ["tag too long", { imageTag: "a".repeat(129) }, "imageTag"],
  ["port 0", { port: 0 }, "port"],
  ["port 65536", { port: 65536 }, "port"],
  ["port as a string", { port: "80" }, "port"],
  ["fractional port", { port: 80.5 }, "port"],
  ["env name with a hyphen", { defaultEnv: { "MY-VAR": "x" } }, "defaultEnv.MY-VAR"],
  ["env name starting with a digit", { defaultEnv: { "1VAR": "x" } }, "defaultEnv.1VAR"],
  ["env value not a string", { defaultEnv: { PORT: 80 } }, "defaultEnv.PORT"],
  ["env as an array", { defaultEnv: ["A=1"] }, "defaultEnv"],
  ["cpu with a unit typo", withResources({ cpu: "250 m" }), "resources.cpu"],
  ["cpu in memory units", withResources({ cpu: "1Gi" }), "resources.cpu"],
  ["cpu below 1m precision", withResources({ cpu: "0.0005" }), "resources.cpu"],
  ["cpu of zero", withResources({ cpu: "0" }), "resources.cpu"],
  ["cpu as a number", withResources({ cpu: 1 }), "resources.cpu"],
  ["memory with a lower-case unit", withResources({ memory: "512mi" }), "resources.memory"],
  ["memory in millis", withResources({ memory: "512m" }), "resources.memory"],
  ["memory too small", withResources({ memory: "1Mi" }), "resources.memory"],
  ["memory with an exponent", withResources({ memory: "1e9" }), "resources.memory"],
  ["storage that is not a quantity", withResources({ storage: "five gigs" }), "resources.storage"],
  [
    "storage without a mount path",
    withResources({ storageMountPath: undefined }),
    "resources.storageMountPath",
  ],
  [
    "mount path without storage",
    withResources({ storage: undefined }),
    "resources.storageMountPath",
  ],
  [
    "relative mount path",
    withResources({ storageMountPath: "data" }),
    "resources.storageMountPath",
  ],
  ["root mount path", withResources({ storageMountPath: "/" }), "resources.storageMountPath"],
  ["missing cpu", withResources({ cpu: undefined }), "resources.cpu"],
  ["unknown resources field", withResources({ gpu: "1" }), "resources.gpu"],
  ["negative price", withPrice({ amountMinor: -1 }), "price.amountMinor"],
  ["fractional price", withPrice({ amountMinor: 4.99 }), "price.amountMinor"],
  ["price beyond int4", withPrice({ amountMinor: 2 ** 31 }), "price.amountMinor"],
  ["lower-case currency", withPrice({ currency: "eur" }), "price.currency"],
  ["currency of four letters", withPrice({ currency: "EURO" }), "price.currency"],
  ["made-up currency", withPrice({ currency: "ABC" }), "price.currency"],
  ["yearly period", withPrice({ period: "YEARLY" }), "price.period"],
  ["missing price", { price: undefined }, "price"],
  ["allowMultiple as a string", { allowMultiple: "yes" }, "allowMultiple"],
  ["scaleToZero as a number", { scaleToZero: 1 }, "scaleToZero"],
  ["an unknown field", { active: false }, "active"],
];

describe("create validation: each field rule", () => {
  it.each(invalid)("rejects %s", async (_what, overrides, field) => {
    const res = await create({ ...serviceBody(), ...overrides });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
    expect(res.body.errors?.map((e) => e.field)).toContain(field);
  });

  it("gives one clear message per mistake", async () => {
    const res = await create({
      ...serviceBody(),
      image: "gitea/gitea:1.22",
      ...withResources({ cpu: "fast" }),
    });
    expect(res.body.errors).toEqual([
      { field: "image", message: "must not include a tag; put it in imageTag" },
      { field: "resources.cpu", message: expect.stringContaining('like "250m"') },
    ]);
  });

  it("names every missing field", async () => {
    const res = await create({});
    const fields = res.body.errors?.map((e) => e.field);
    for (const f of ["slug", "name", "image", "imageTag", "port", "resources", "price"]) {
      expect(fields).toContain(f);
    }
    expect(res.body.errors?.find((e) => e.field === "slug")?.message).toBe("is required");
  });
});

const valid: [string, Record<string, unknown>][] = [
  ["a one-character slug", { slug: "a" }],
  ["a 40-character slug", { slug: `a${"b".repeat(38)}c` }],
  ["an image on a registry with a port", { image: "registry.example.com:5000/team/app" }],
  ["an image on localhost", { image: "localhost/app" }],
  ["an image with separators", { image: "my_org/my-app.web__x" }],
  ["an official image", { image: "nginx" }],
  ["a tag with upper case and dots", { imageTag: "V1.2.3-rc.1_b" }],
  ["cpu in whole cores", withResources({ cpu: "2" })],
  ["cpu as a fraction", withResources({ cpu: "0.5" })],
  ["cpu as .25", withResources({ cpu: ".25" })],
  ["memory in decimal units", withResources({ memory: "1G" })],
  ["memory in plain bytes", withResources({ memory: "134217728" })],
  ["memory as a fraction of Gi", withResources({ memory: "1.5Gi" })],
  ["no storage at all", withResources({ storage: undefined, storageMountPath: undefined })],
  ["storage and mount path as null", withResources({ storage: null, storageMountPath: null })],
  ["a free app", withPrice({ amountMinor: 0 })],
  ["yen", withPrice({ currency: "JPY" })],
  [
    "env names with lower case and underscores",
    { defaultEnv: { GITEA__server__DISABLE_SSH: "true", _x: "" } },
  ],
];

describe("create validation: accepted forms", () => {
  it.each(valid)("accepts %s", async (_what, overrides) => {
    const res = await create({ ...serviceBody(), ...overrides });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });
});

describe("update validation", () => {
  it("applies the same field rules to a patch", async () => {
    const s = await t.create();
    const cases: [Record<string, unknown>, string][] = [
      [{ port: 0 }, "port"],
      [{ image: "a/b:latest" }, "image"],
      [{ resources: { cpu: "lots" } }, "resources.cpu"],
      [{ price: { currency: "eur" } }, "price.currency"],
      [{ active: true }, "active"],
      [{ defaultEnv: { "A B": "x" } }, "defaultEnv.A B"],
    ];
    for (const [body, field] of cases) {
      const res = await t.app.request(
        `/api/v1/services/${s.slug}`,
        json(body, t.h.bearer(t.admin), "PATCH"),
      );
      expect(res.status, field).toBe(400);
      const problem = (await res.json()) as Problem;
      expect(problem.errors?.map((e) => e.field)).toContain(field);
    }
  });
});
