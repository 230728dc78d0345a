import { existsSync, mkdtempSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { DOCS_CSP } from "@minispod/shared";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { Hono } from "hono";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { functions } from "../src/local/functions";
import { createLocalRunner, type LocalRunner } from "../src/local/runner";

/**
 * The browser check of `/docs`: Debian's Chromium, headless, with background
 * networking off, loads the local runner's reference page (every function's
 * merged document) and must render one row per operation, with no request
 * leaving the origin and no CSP violation. `.ci/run` installs Chromium, so
 * there this check always runs; elsewhere, without Chromium, it is skipped
 * and says so.
 */
const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  const message = `${CHROMIUM} is missing: the /docs browser check is skipped (apt-get install -y chromium to run it).`;
  // CI installs Chromium; missing there is a broken setup, not a reason to skip.
  if (process.env.CI) throw new Error(message);
  console.warn(message);
}

interface Rendered {
  operations: number;
  offOrigin: string[];
  cspViolations: string[];
}

async function renderDocs(browser: Browser, url: string, waitMs = 15_000): Promise<Rendered> {
  const page = await browser.newPage();
  const origin = new URL(url).origin;
  const offOrigin: string[] = [];
  const cspViolations: string[] = [];
  page.on("request", (request) => {
    const target = request.url();
    if (!target.startsWith(origin) && !target.startsWith("data:")) offOrigin.push(target);
  });
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  try {
    await page.goto(url, { waitUntil: "load" });
    // Swagger UI renders one .opblock per operation once it has fetched the document.
    await page
      .locator(".opblock")
      .first()
      .waitFor({ state: "visible", timeout: waitMs })
      .catch(() => undefined);
    return { operations: await page.locator(".opblock").count(), offOrigin, cspViolations };
  } finally {
    await page.close();
  }
}

async function listen(app: { fetch: (request: Request) => Response | Promise<Response> }) {
  const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.skipIf(!hasChromium)("/docs in headless Chromium", () => {
  let h: Harness;
  let runner: LocalRunner;
  let browser: Browser;
  let server: Awaited<ReturnType<typeof listen>>;

  beforeAll(async () => {
    h = await createHarness();
    runner = await createLocalRunner({
      source: {
        DATABASE_URL: h.databaseUrl,
        REDIS_URL: h.redisUrl,
        REDIS_KEY_PREFIX: h.redisPrefix,
        DATA_DIR: mkdtempSync(join(tmpdir(), "minispod-docs-")),
        LOCAL_CRON: "false",
        LOG_LEVEL: "silent",
        BCRYPT_COST: "4",
        ADMIN_PASSWORD: "admin password 1",
      },
      functions,
    });
    server = await listen(runner.app);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-background-networking", "--headless"],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await runner?.close();
    await h?.close();
  });

  it("renders every operation of the merged document, offline and within its CSP", async () => {
    const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
      webhooks: Record<string, Record<string, unknown>>;
    };
    const count = (section: Record<string, Record<string, unknown>>) =>
      Object.values(section).reduce((sum, item) => sum + Object.keys(item).length, 0);
    expect(count(document.paths)).toBeGreaterThan(30);
    expect(count(document.webhooks)).toBeGreaterThan(10);
    // The webhook events are operations of the page too.
    const operations = count(document.paths) + count(document.webhooks);

    const docs = await fetch(`${server.url}/docs`);
    expect(docs.headers.get("content-security-policy")).toBe(DOCS_CSP);

    const rendered = await renderDocs(browser, `${server.url}/docs`);
    expect(rendered).toEqual({ operations, offOrigin: [], cspViolations: [] });
  }, 60_000);

  it("reports a blank page when the UI's assets do not load", async () => {
    // The same page with its scripts answering 404: the check must see nothing rendered.
    const broken = new Hono();
    broken.get("/docs/assets/*", (c) => c.text("gone", 404));
    broken.all("*", (c) => runner.app.fetch(c.req.raw));
    const blank = await listen(broken);
    try {
      const rendered = await renderDocs(browser, `${blank.url}/docs`, 3_000);
      expect(rendered.operations).toBe(0);
    } finally {
      await blank.close();
    }
  }, 60_000);
});
