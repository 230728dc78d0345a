import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PORTAL_CSP } from "@minispod/fn-portal";
import { pages } from "@minispod/fn-portal/routes";
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
 * emailed link, cancel. On the way: a declined card (402), a second
 * subscription to the same app (409), a restart past its limit (429), the
 * app's credentials (read, replace), webhooks (add, test event, delivery
 * log, redeliver, rotate the secret), empty and not-found states, the
 * printable invoice. axe-core checks every page of the portal, each in at
 * least one state, and most in several.
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

  /** A customer's webhook receiver: what it was sent. */
  let receiver: Server;
  let receiverUrl = "";
  const received: { type: string; signature: string | undefined }[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const sig = req.headers["webhook-signature"];
        received.push({
          type: (JSON.parse(body || "{}") as { type?: string }).type ?? "",
          signature: Array.isArray(sig) ? sig[0] : sig,
        });
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    site = await startPortalSite({
      // The receiver above is on loopback; one restart per hour makes the second one a 429.
      WEBHOOK_ALLOW_PRIVATE: "true",
      INSTANCE_RESTART_LIMIT: "1",
    });
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
    await new Promise((r) => receiver?.close(r));
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
    audited.add(await page.evaluate(() => document.body.dataset.page ?? ""));
  }
  /** The page ids (routes.ts) axe has seen. */
  const audited = new Set<string>();
  /** The portal's answer to a failed call, as the customer reads it. */
  const alert = () => page.getByRole("alert").first();

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

  it("shows the empty states of a new account", async () => {
    await page.getByRole("link", { name: "Invoices" }).click();
    await page.getByText("No invoices yet.").waitFor();
    await audit("invoices-empty");
    await page.getByRole("link", { name: "Webhooks" }).click();
    await page.getByText("No endpoints yet.").waitFor();
    await audit("webhooks-empty");
  }, 60_000);

  it("says what a declined card means, then subscribes on the same page with another", async () => {
    await page.getByRole("link", { name: "Apps", exact: true }).click();
    // An app with credentials of its own, limited to one subscription (so a second is a 409).
    await page.getByRole("link", { name: "Vaultwarden" }).click();
    await page.waitForURL(/\/apps\/vaultwarden$/);
    await audit("app");
    await page.getByRole("link", { name: /^Subscribe to / }).click();
    await page.waitForURL(/\/subscribe$/);
    await audit("subscribe");

    await page.getByLabel("Payment method").fill("pm_sandbox_declined");
    await page.getByRole("button", { name: /and subscribe$/ }).click();
    await expect(alert().textContent()).resolves.toMatch(
      /^Your payment was declined.*Nothing was charged; try another payment method\.$/,
    );
    await audit("subscribe-declined");
  }, 60_000);

  it("subscribes and watches the instance go RUNNING without reloading", async () => {
    let loads = 0;
    page.on("load", () => loads++);
    await page.getByLabel("Payment method").fill("pm_sandbox_ok");
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
    await audit("instance-restart-dialog");
    await page.getByRole("button", { name: "Restart now" }).click();
    await page.getByText("Restarting: the status updates here.").waitFor();
  }, 60_000);

  it("says how long to wait when the restart limit is reached (429)", async () => {
    // Back to RUNNING (the page polls), then a second restart within the hour.
    await expectEventually(async () => {
      await site.runner.settle();
      return (await page.locator(".status-line .badge").textContent()) === "RUNNING";
    }, 60_000);
    await page.getByRole("button", { name: "Restart", exact: true }).click();
    await page.getByRole("button", { name: "Restart now" }).click();
    await expect(alert().textContent()).resolves.toMatch(
      /^Too many attempts\. Please wait (\d+ minutes|\d+ seconds) and try again\.$/,
    );
    await audit("instance-429");
  }, 90_000);

  it("reads the app's credentials and replaces one", async () => {
    await page.getByRole("link", { name: "Credentials" }).click();
    await page.waitForURL(/\/credentials$/);
    const value = page.locator(".facts dd code").first();
    await value.waitFor();
    const before = await value.textContent();
    expect(before?.length).toBeGreaterThan(10);
    await audit("credentials");
    await page.getByRole("button", { name: /^Replace / }).click();
    await page.getByRole("dialog").waitFor();
    await audit("credentials-confirm");
    await page.getByRole("button", { name: "Replace it" }).click();
    await page.getByText("Replaced: the old value stops working").waitFor();
    await expectEventually(async () => (await value.textContent()) !== before, 20_000);
    await page.getByRole("link", { name: "Back to the instance" }).click();
    await page.waitForURL((u) => u.pathname === instancePath);
  }, 60_000);

  it("refuses a second subscription to the same app in plain words (409)", async () => {
    await page.getByRole("link", { name: "Apps", exact: true }).click();
    await page.getByRole("link", { name: "Vaultwarden" }).click();
    await page.getByRole("link", { name: /^Subscribe to / }).click();
    await page.getByRole("button", { name: /and subscribe$/ }).click();
    const words = await alert().textContent();
    expect(words).toMatch(/already/i);
    expect(words).not.toMatch(/CONFLICT|problem|409/);
    await audit("subscribe-conflict");
  }, 60_000);

  it("shows the invoice, printable", async () => {
    await page.getByRole("link", { name: "Invoices" }).click();
    await page.waitForURL(/\/invoices$/);
    // The declined first attempt left nothing to pay: its invoice is void.
    await page.locator("table a").first().waitFor();
    const rows = await page.locator("tbody tr").allTextContents();
    expect(rows.map((r) => r.match(/[A-Z_]+$/)?.[0])).toEqual(["PAID", "VOID"]);
    await audit("invoices");
    await page.locator("table a").first().click();
    await page.waitForURL(/\/invoices\/[0-9a-f-]+$/);
    await page.getByRole("heading", { name: /^Invoice / }).waitFor();
    await expect(page.getByText("PAID").first().isVisible()).resolves.toBe(true);
    await audit("invoice");
    await page.emulateMedia({ media: "print" });
    expect(await page.locator("header.top").isVisible()).toBe(false);
    await audit("invoice-print");
    await page.emulateMedia({ media: "screen" });
  }, 60_000);

  it("says a missing invoice or instance is not found, in plain words", async () => {
    const unknown = "00000000-0000-4000-8000-000000000000";
    for (const path of [`/invoices/${unknown}`, `/instances/${unknown}`]) {
      await page.goto(`${site.url}${path}`);
      await expect(alert().textContent()).resolves.toBe(
        "We could not find this. It may have been deleted, or the link is wrong.",
      );
      await audit(`not-found ${path.split("/")[1]}`);
    }
  }, 60_000);

  it("visits the account page", async () => {
    await page.getByRole("link", { name: "Account" }).click();
    await page.getByRole("heading", { name: "Recent activity" }).waitFor();
    await audit("account");
  }, 60_000);

  it("adds a webhook endpoint, sends a test event, redelivers it and rotates the secret", async () => {
    await page.getByRole("link", { name: "Webhooks" }).click();
    await page.getByRole("heading", { name: "Add an endpoint" }).waitFor();
    await page.getByLabel("Endpoint URL (https)").fill(receiverUrl);
    await page.getByLabel("instance.running").check();
    await page.getByLabel("invoice.paid").check();
    await page.getByRole("button", { name: "Add endpoint" }).click();
    const secret = page.locator("code.secret");
    await secret.waitFor();
    const first = await secret.textContent();
    expect(first).toMatch(/^whsec_/);
    await page.getByRole("link", { name: receiverUrl }).waitFor();
    await audit("webhooks");

    await page.getByRole("link", { name: receiverUrl }).click();
    await page.waitForURL(/\/webhooks\/[0-9a-f-]+$/);
    const events = page.getByText(/^Events: /);
    await events.waitFor();
    expect((await events.textContent())?.split(": ")[1]?.split(", ").sort()).toEqual([
      "instance.running",
      "invoice.paid",
    ]);
    await page.getByText("No deliveries yet.").waitFor();
    await audit("webhook-empty");

    await page.getByRole("button", { name: "Send a test event" }).click();
    const deliveries = page.locator("section:has(#deliveries-h) ul.plain li");
    await deliveries.first().waitFor();
    await expectEventually(async () => received.length >= 1, 20_000);
    expect(received[0]?.signature).toMatch(/^v1,/);

    await deliveries.first().getByRole("button", { name: "Redeliver" }).click();
    await page.getByText(/sent again\.$/).waitFor();
    await expectEventually(async () => {
      await site.runner.settle();
      return received.length >= 2;
    }, 20_000);
    await audit("webhook");

    await page.getByRole("button", { name: "Rotate signing secret" }).click();
    await expectEventually(async () => {
      const now = await secret.textContent().catch(() => null);
      return !!now && now !== first;
    }, 20_000);
    expect(await secret.textContent()).toMatch(/^whsec_/);
    await audit("webhook-rotated");
  }, 90_000);

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

    // The same link once more: spent, and said so.
    const spent = linkIn(mail, site, "/reset-password?token=");
    await page.goto(spent);
    await page.getByLabel("New password").fill("yet another long password");
    await page.getByRole("button", { name: "Save new password" }).click();
    await expect(alert().textContent()).resolves.toMatch(/already used or expired/);
    await audit("reset-password-spent");
    await page.goto(`${site.url}/verify-email`);
    await page.getByText("This link has no token.").waitFor();
    await audit("verify-email-no-token");

    await page.goto(`${site.url}${instancePath}`);
    await page.waitForURL(/\/signin\?next=/);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(alert().textContent()).resolves.toBe("The email or the password is wrong.");
    await audit("signin-wrong-password");
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
    // Every page of the portal, in at least one state.
    expect([...audited].sort()).toEqual(pages.map((p) => p.id).sort());
    expect(Object.keys(axe).length).toBeGreaterThanOrEqual(30);
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
