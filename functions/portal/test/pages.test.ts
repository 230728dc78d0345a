import { createHarness, type Harness } from "@minispod/shared/testing";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PORTAL_CSP } from "../src/app";
import { portalFunction } from "../src/function";
import { matchPage, pages } from "../src/routes";

let h: Harness;
let app: Hono;
beforeAll(async () => {
  h = await createHarness();
  app = (await h.app(portalFunction)) as unknown as Hono;
}, 60_000);
afterAll(() => h?.close());

/** A concrete path for a page pattern. */
const concrete = (path: string) =>
  path.replace(":slug", "nextcloud").replace(":id", "0b6f6f34-3c1e-4b8a-9d1e-8f1a2b3c4d5e");

describe("pages", () => {
  it.each(pages.map((p) => [p.id, concrete(p.path)]))(
    "%s (%s) answers its shell with the security headers",
    async (id, path) => {
      const res = await app.request(path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      expect(res.headers.get("content-security-policy")).toBe(PORTAL_CSP);
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("cache-control")).toBe("no-store");
      const html = await res.text();
      expect(html).toMatch(/^<!doctype html><html lang="en">/);
      expect(html).toContain(`data-page="${id}"`);
      expect(html).toContain('<meta name="referrer" content="no-referrer"/>');
      // No inline script or style: every <script> has a src, no style attribute anywhere.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/\sstyle=/);
    },
  );

  it("keeps the query (an emailed token) on the page and out of any asset URL", async () => {
    const html = await (await app.request("/reset-password?token=abc%2Bdef")).text();
    expect(html).not.toContain("abc");
  });

  it("answers 404 problem+json to a path that is no page", async () => {
    for (const path of ["/nope", "/instances/a/b", "/instances/%3Cscript%3E", "/apps/x/y/z"]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/problem\+json/);
    }
  });

  it("does not answer state-changing methods on pages", async () => {
    const res = await app.request("/signin", { method: "POST" });
    expect(res.status).toBe(404);
  });
});

describe("assets", () => {
  it("serves the page's script and stylesheet, immutable, with their types", async () => {
    const html = await (await app.request("/")).text();
    const refs = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(refs).toHaveLength(2);
    for (const ref of refs) {
      const res = await app.request(ref);
      expect(res.status, ref).toBe(200);
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(res.headers.get("content-type")).toMatch(
        ref.endsWith(".js") ? /^text\/javascript/ : /^text\/css/,
      );
      const body = await res.text();
      // The browser code never evaluates strings as code (the CSP forbids it anyway).
      if (ref.endsWith(".js")) expect(body).not.toMatch(/\beval\(|new Function\(/);
    }
  });

  it("answers 404 to an unknown asset", async () => {
    const res = await app.request("/assets/main-OLD.js");
    expect(res.status).toBe(404);
  });
});

describe("matchPage", () => {
  it("matches patterns and gives their parameters", () => {
    expect(matchPage("/instances/abc-123")).toMatchObject({
      page: { id: "instance" },
      params: { id: "abc-123" },
    });
    expect(matchPage("/apps/nextcloud/subscribe")?.page.id).toBe("subscribe");
    expect(matchPage("/")?.page.id).toBe("catalog");
    expect(matchPage("/invoices/")?.page.id).toBe("invoices");
  });

  it("refuses parameters outside the id alphabet", () => {
    expect(matchPage("/instances/a.b")).toBeUndefined();
    expect(matchPage("/instances/%2E%2E")).toBeUndefined();
    expect(matchPage("/webhooks/x/y")).toBeUndefined();
  });
});
