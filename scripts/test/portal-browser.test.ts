import { PORTAL_CSP } from "@minispod/fn-portal";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHROMIUM,
  hasChromium,
  linkIn,
  type PortalSite,
  seriousViolations,
  startPortalSite,
  waitForMail,
} from "./support/portal-browser";

/**
 * The customer's whole journey in the portal, in Debian's headless Chromium
 * against the local runner (every function, real PostgreSQL and Redis, the
 * dev mailbox, the simulated cluster): sign up, confirm the email from the
 * mailbox, subscribe, watch the instance reach RUNNING without a reload, read
 * its logs, restart it, see the invoice, reset the password through the
 * emailed link, cancel. axe-core checks every page on the way.
 */
if (!hasChromium) {
  const message = `${CHROMIUM} is missing: the portal browser journey is skipped (apt-get install -y chromium).`;
  if (process.env.CI) throw new Error(message);
  console.warn(message);
}

const PASSWORD = "a long enough password";
const NEW_PASSWORD = "another long password";

describe.skipIf(!hasChromium)("the portal in headless Chromium", () => {
  let site: PortalSite;
  let context: BrowserContext;
  let page: Page;
  const cspViolations: string[] = [];
  const offOrigin: string[] = [];
  const axe: Record<string, unknown[]> = {};

  beforeAll(async () => {
    site = await startPortalSite();
    context = await site.browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    page.on("request", (r) => {
      if (!r.url().startsWith(site.url) && !r.url().startsWith("data:")) offOrigin.push(r.url());
    });
  }, 120_000);
  afterAll(async () => {
    await context?.close();
    await site?.close();
  });

  /** axe on the page once its content is in: `name` keys the findings. */
  async function audit(name: string) {
    await page.waitForFunction(
      () =>
        ![...document.querySelectorAll("#app [role=status]")].some((e) =>
          e.textContent?.includes("Loading"),
        ),
    );
    axe[name] = await seriousViolations(page);
  }

  const email = `journey-${Date.now()}@example.com`;
  let instancePath = "";

  it("serves pages with a strict CSP and no referrer", async () => {
    const res = await fetch(`${site.url}/signup`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toBe(PORTAL_CSP);
    expect(PORTAL_CSP).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
  });

  it("signs up, and confirms the email through the link in the dev mailbox", async () => {
    await page.goto(`${site.url}/`);
    await page.getByRole("heading", { level: 1, name: "Apps" }).waitFor();
    await audit("catalog");
    await page.getByRole("link", { name: "Create account" }).click();
    await page.getByLabel("Name").fill("Grace Hopper");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await audit("signup");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL(/\/dashboard/);
    await page.getByText(`We sent a confirmation link to ${email}`).waitFor();
    await audit("dashboard");

    // The refresh token is an HttpOnly cookie: page script sees no token at all.
    expect(await page.evaluate(() => document.cookie)).toBe("");
    const cookies = await context.cookies();
    const refresh = cookies.find((c) => c.name === "minispod_refresh");
    expect(refresh).toMatchObject({
      httpOnly: true,
      secure: true,
      sameSite: "Strict",
      path: "/api/v1/auth",
    });

    const mail = await waitForMail(site, email, /confirm your email/i);
    await page.goto(linkIn(mail, site, "/verify-email?token="));
    await page.getByText("your email address is confirmed").waitFor();
    // The token left the address bar (and the history entry) once used.
    expect(new URL(page.url()).search).toBe("");
    expect(new URL(page.url()).pathname).toBe("/verify-email");
    await audit("verify-email");
  }, 60_000);

  it("subscribes and watches the instance go RUNNING without reloading", async () => {
    await page.getByRole("link", { name: "Apps", exact: true }).click();
    const first = page.locator(".cards .card h2 a").first();
    await first.waitFor();
    await first.click();
    await page.waitForURL(/\/apps\/[^/]+$/);
    await audit("app");
    await page.getByRole("link", { name: /^Subscribe to / }).click();
    await page.waitForURL(/\/subscribe$/);
    await audit("subscribe");

    let loads = 0;
    page.on("load", () => loads++);
    await page.getByRole("button", { name: /and subscribe$/ }).click();
    await page.waitForURL(/\/instances\/[0-9a-f-]+$/);
    instancePath = new URL(page.url()).pathname;
    await page.locator(".status-line .badge").waitFor();
    // The page polls; the simulated cluster brings the app up meanwhile.
    await expectEventually(async () => {
      await site.runner.settle();
      return (await page.locator(".status-line .badge").textContent()) === "RUNNING";
    }, 60_000);
    expect(loads).toBe(0);
    await expect(page.locator(".timeline li").count()).resolves.toBeGreaterThan(1);
    await audit("instance");
  }, 120_000);

  it("reads the logs and restarts the instance", async () => {
    await page.getByRole("button", { name: "Refresh logs" }).click();
    const logs = page.locator("section:has(#logs-h) pre.logs");
    await logs.waitFor();
    expect((await logs.textContent())?.trim().length).toBeGreaterThan(0);
    await page.getByRole("button", { name: "Restart", exact: true }).click();
    await page.getByRole("dialog", { name: /^Restart / }).waitFor();
    await page.getByRole("button", { name: "Restart now" }).click();
    await page.getByText("Restarting: the status updates here.").waitFor();
  }, 60_000);

  it("shows the invoice, printable", async () => {
    await page.getByRole("link", { name: "Invoices" }).click();
    await page.waitForURL(/\/invoices$/);
    await audit("invoices");
    await page.locator("table a").first().click();
    await page.waitForURL(/\/invoices\/[0-9a-f-]+$/);
    await page.getByRole("heading", { name: /^Invoice / }).waitFor();
    await expect(page.getByText("PAID").first().isVisible()).resolves.toBe(true);
    await audit("invoice");
    await page.emulateMedia({ media: "print" });
    expect(await page.locator("header.top").isVisible()).toBe(false);
    await page.emulateMedia({ media: "screen" });
  }, 60_000);

  it("visits account and webhooks", async () => {
    await page.getByRole("link", { name: "Account" }).click();
    await page.getByRole("heading", { name: "Recent activity" }).waitFor();
    await audit("account");
    await page.getByRole("link", { name: "Webhooks" }).click();
    await page.getByRole("heading", { name: "Add an endpoint" }).waitFor();
    await audit("webhooks");
  }, 60_000);

  it("resets the password through the emailed link", async () => {
    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await page.waitForURL(/\/signin/);
    await audit("signin");
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await page.getByLabel("Email").fill(email);
    await audit("forgot-password");
    await page.getByRole("button", { name: "Email me a link" }).click();
    await page.getByText(/a (reset )?link is on its way/i).waitFor();
    const mail = await waitForMail(site, email, /reset your minispod password/i);
    await page.goto(linkIn(mail, site, "/reset-password?token="));
    await page.getByLabel("New password").waitFor();
    expect(new URL(page.url()).search).toBe("");
    await audit("reset-password");
    await page.getByLabel("New password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Save new password" }).click();
    await page.getByText("Your password is changed").waitFor();

    await page.goto(`${site.url}${instancePath}`);
    await page.waitForURL(/\/signin\?next=/);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((u) => u.pathname === instancePath);
  }, 60_000);

  it("cancels the subscription", async () => {
    await page.getByRole("link", { name: "Subscription and cancel" }).click();
    await page.waitForURL(/\/subscriptions\/[0-9a-f-]+$/);
    await audit("subscription");
    await page.getByLabel(/^Now: the app and its data are deleted/).check();
    await page.getByRole("button", { name: "Cancel subscription" }).click();
    await page.getByText("CANCELLED").waitFor();
  }, 60_000);

  it("the axe check does see a violation when there is one", async () => {
    const scratch = await context.newPage();
    await scratch.goto(`${site.url}/signin`);
    await scratch.getByLabel("Email").waitFor();
    // An unlabeled field (critical), added through the DevTools protocol.
    await scratch.evaluate(() => {
      document.querySelector("form")?.append(document.createElement("input"));
    });
    const found = await seriousViolations(scratch);
    await scratch.close();
    expect(found.map((v) => v.id)).toContain("label");
  }, 60_000);

  it("found no CSP violation, no request off the origin, and no serious or critical axe finding", () => {
    expect(cspViolations).toEqual([]);
    expect(offOrigin).toEqual([]);
    expect(Object.keys(axe).length).toBeGreaterThanOrEqual(14);
    expect(Object.fromEntries(Object.entries(axe).filter(([, v]) => v.length > 0))).toEqual({});
  });
});

async function expectEventually(check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`not true within ${timeoutMs} ms`);
}
