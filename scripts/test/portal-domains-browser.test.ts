import { startTestDnsServer, type TestDnsServer } from "@minispod/shared/testing";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHROMIUM,
  hasChromium,
  type PortalSite,
  seriousViolations,
  startPortalSite,
} from "./support/portal-browser";

/**
 * The Domains section of the instance page in Debian's headless Chromium,
 * against the local runner with the simulated cluster and a real DNS server
 * on loopback (DNS_RESOLVERS): add a domain, read the TXT record to create,
 * check now until it is ACTIVE, remove it. axe-core checks the section.
 */
if (!hasChromium) {
  const message = `${CHROMIUM} is missing: the portal domains check is skipped (apt-get install -y chromium).`;
  if (process.env.CI) throw new Error(message);
  console.warn(message);
}

const PASSWORD = "a long enough password";

describe.skipIf(!hasChromium)("the portal's custom domains in headless Chromium", () => {
  let site: PortalSite;
  let dns: TestDnsServer;
  let context: BrowserContext;
  let page: Page;
  const cspViolations: string[] = [];
  let instanceId = "";

  beforeAll(async () => {
    dns = await startTestDnsServer();
    site = await startPortalSite({
      DNS_RESOLVERS: dns.address,
      DNS_TIMEOUT_MS: "500",
      K8S_SIMULATED_DELAY_MS: "0",
    });
    context = await site.browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    // An account with a running instance, made through the API.
    const email = `domains-${Date.now()}@example.com`;
    const registered = await fetch(`${site.url}/api/v1/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: PASSWORD, name: "Ada" }),
    });
    const { accessToken } = (await registered.json()) as { accessToken: string };
    const subscribed = await fetch(`${site.url}/api/v1/subscriptions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ serviceSlug: "gitea" }),
    });
    instanceId = ((await subscribed.json()) as { instance: { id: string } }).instance.id;
    await site.runner.settle();
    await page.goto(`${site.url}/signin`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/dashboard/);
  }, 120_000);
  afterAll(async () => {
    await context?.close();
    await site?.close();
    await dns?.close();
  });

  it("adds a domain, shows its DNS records, checks it until ACTIVE and removes it", async () => {
    await page.goto(`${site.url}/instances/${instanceId}`);
    const section = page.locator("section#domains");
    await section.getByText("No custom domain yet.").waitFor();
    await section.getByLabel("Domain").fill("Shop.Example.COM");
    await section.getByRole("button", { name: "Add domain" }).click();
    await section.getByRole("heading", { name: "shop.example.com" }).waitFor();
    await section.getByText("Waiting for the TXT record").first().waitFor();
    const txtName = await section.locator("tbody tr").nth(0).locator("td").nth(1).textContent();
    const token = await section.locator("tbody tr").nth(0).locator("td").nth(2).textContent();
    expect(txtName).toBe("_minispod-challenge.shop.example.com");
    expect(token).toMatch(/^minispod-verify-/);
    expect(await section.locator("tbody tr").nth(1).textContent()).toContain(
      `i-${instanceId}.apps.localhost`,
    );
    expect(await seriousViolations(page)).toEqual([]);

    await section.getByRole("button", { name: "Check now" }).click();
    await section
      .getByText(/no TXT record found at _minispod-challenge\.shop\.example\.com/)
      .first()
      .waitFor();

    dns.set(txtName ?? "", "TXT", [token ?? ""]);
    await section.getByRole("button", { name: "Check now" }).click();
    await section
      .getByText(/Verified; the certificate is being issued|Serving your app/)
      .first()
      .waitFor();
    await site.runner.settle(); // the provisioner routes it on the simulated cluster
    await section.getByRole("button", { name: "Check now" }).click();
    await section.locator(".domains .badge", { hasText: "ACTIVE" }).waitFor();
    await section.locator(".domains li", { hasText: "Serving your app" }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);

    await section.getByRole("button", { name: "Remove shop.example.com" }).click();
    await section.getByText("No custom domain yet.").waitFor();
    expect(cspViolations).toEqual([]);
  }, 90_000);

  it("says plainly why a name is refused", async () => {
    const section = page.locator("section#domains");
    await section.getByLabel("Domain").fill("192.0.2.10");
    await section.getByRole("button", { name: "Add domain" }).click();
    await section.getByText(/not an IP address/).waitFor();
  }, 30_000);
});
