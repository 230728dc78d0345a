/**
 * `npm run screenshots`: every portal page at 360, 768 and 1280 px wide, as a
 * customer who signed up, confirmed the email, subscribed and got an invoice
 * sees them, into docs/screenshots/portal/<page>-<width>.png (not committed:
 * run it to see the current pages). Drives Debian's Chromium against the local
 * runner on PGlite in a scratch folder (or DATABASE_URL when set).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { chromium, type Page } from "playwright-core";
import { functions } from "../local/functions";
import { createLocalRunner } from "../local/runner";

const out = fileURLToPath(new URL("../../../docs/screenshots/portal/", import.meta.url));
const WIDTHS = [360, 768, 1280];
const PASSWORD = "a long enough password";

const dataDir = mkdtempSync(join(tmpdir(), "minispod-screenshots-"));
const port = 3900 + Math.floor(Math.random() * 90);
const url = `http://127.0.0.1:${port}`;
const runner = await createLocalRunner({
  source: {
    DATA_DIR: dataDir,
    LOCAL_CRON: "false",
    LOG_LEVEL: "silent",
    ADMIN_PASSWORD: "screenshots only",
    BCRYPT_COST: "4",
    APP_URL: url,
    PORT: String(port),
    AUTH_RATE_LIMIT_LOGIN: "1000",
    AUTH_RATE_LIMIT_RESET: "1000",
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
  },
  functions,
});
const server = serve({ fetch: runner.app.fetch, hostname: "127.0.0.1", port });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-background-networking", "--headless"],
});

/** Waits until no part of the page still says it is loading. */
async function settled(page: Page) {
  await page.waitForFunction(
    () =>
      ![...document.querySelectorAll("#app [role=status]")].some((e) =>
        e.textContent?.includes("Loading"),
      ),
  );
}

async function mailLink(to: string, path: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    await runner.settle();
    const list = (await (await runner.app.request("/_dev/notifier/mailbox")).json()) as {
      items: { id: string; to: string }[];
    };
    for (const item of list.items.filter((m) => m.to.includes(to))) {
      const mail = (await (
        await runner.app.request(`/_dev/notifier/mailbox/${item.id}`)
      ).json()) as { text: string };
      const link = mail.text.match(/https?:\/\/\S+/g)?.find((u) => u.includes(path));
      if (link) return link;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no ${path} link mailed to ${to}`);
}

try {
  mkdirSync(out, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const email = `screens-${Date.now()}@example.com`;
  // The journey that fills the pages with data.
  await page.goto(`${url}/signup`);
  await page.getByLabel("Name").fill("Grace Hopper");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(/\/dashboard/);
  const verify = await mailLink(email, "/verify-email");
  await page.goto(`${url}/`);
  const first = page.locator(".cards .card h2 a").first();
  const appPath = (await first.getAttribute("href")) ?? "/";
  await page.goto(`${url}${appPath}/subscribe`);
  await page.getByRole("button", { name: /and subscribe$/ }).click();
  await page.waitForURL(/\/instances\//);
  const instancePath = new URL(page.url()).pathname;
  for (let i = 0; i < 120; i++) {
    await runner.settle();
    if ((await page.locator(".status-line .badge").textContent()) === "RUNNING") break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const subscriptionPath =
    (await page.getByRole("link", { name: "Subscription and cancel" }).getAttribute("href")) ?? "";
  await page.goto(`${url}/invoices`);
  await settled(page);
  const invoicePath = (await page.locator("table a").first().getAttribute("href")) ?? "";

  const shots: [string, string][] = [
    ["catalog", "/"],
    ["app", appPath],
    ["subscribe", `${appPath}/subscribe`],
    ["dashboard", "/dashboard"],
    ["instance", instancePath],
    ["subscription", subscriptionPath],
    ["invoices", "/invoices"],
    ["invoice", invoicePath],
    ["account", "/account"],
    ["webhooks", "/webhooks"],
    ["verify-email", new URL(verify).pathname + new URL(verify).search],
    ["forgot-password", "/forgot-password"],
    ["reset-password", "/reset-password"],
  ];
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    for (const [name, path] of shots) {
      await page.goto(`${url}${path}`);
      await settled(page);
      await page.screenshot({ path: join(out, `${name}-${width}.png`), fullPage: true });
    }
  }
  // Signed out last: the sign-in and sign-up pages as a visitor sees them.
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await page.waitForURL(/\/signin/);
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    for (const [name, path] of [
      ["signin", "/signin"],
      ["signup", "/signup"],
    ] as const) {
      await page.goto(`${url}${path}`);
      await settled(page);
      await page.screenshot({ path: join(out, `${name}-${width}.png`), fullPage: true });
    }
  }
  console.log(`wrote ${(shots.length + 2) * WIDTHS.length} screenshots to ${out}`);
} finally {
  await browser.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await runner.close();
  rmSync(dataDir, { recursive: true, force: true });
}
