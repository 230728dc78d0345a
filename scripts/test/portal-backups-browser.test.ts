import { serviceCatalog } from "@minispod/db";
import { eq } from "drizzle-orm";
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
 * The instance page's Backups section in Debian's headless Chromium against
 * the local runner (simulated cluster, snapshots ready at once): back up now,
 * see it ready with its size, restore it into the instance, then into a new
 * instance in one step (subscribe with the backup); axe-core finds no
 * serious or critical violation on the way.
 */
if (!hasChromium) console.warn(`${CHROMIUM} is missing: the portal backups check is skipped.`);

describe.skipIf(!hasChromium)("the portal's backups in headless Chromium", () => {
  let site: PortalSite;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    site = await startPortalSite();
    context = await site.browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
  }, 120_000);
  afterAll(async () => {
    await context?.close();
    await site?.close();
  });

  async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    const shown = await page.locator("#app").textContent();
    throw new Error(`${what}: not true within ${timeoutMs} ms; the page shows: ${shown}`);
  }

  it("backs up an instance, lists the backup with its size, and restores it", async () => {
    await page.goto(`${site.url}/signup`);
    await page.getByLabel("Name").fill("Bea Backup");
    await page.getByLabel("Email").fill(`backups-${Date.now()}@example.com`);
    await page.getByLabel("Password").fill("a long enough password");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL(/\/dashboard/);
    await page.goto(`${site.url}/apps/gitea`);
    await page.getByRole("link", { name: /^Subscribe to / }).click();
    await page.waitForURL(/\/subscribe$/);
    await page.getByRole("button", { name: /and subscribe$/ }).click();
    await page.waitForURL(/\/instances\/[0-9a-f-]+$/);
    await eventually("instance RUNNING", async () => {
      await site.runner.settle();
      return (await page.locator(".status-line .badge").textContent()) === "RUNNING";
    });

    const section = page.locator("section:has(#backups-h)");
    await section.getByText("No backups yet.").waitFor();
    await section.getByRole("button", { name: "Back up now" }).click();
    await section.getByText("Backing up").waitFor();
    await eventually("backup ready", async () => {
      await site.runner.settle();
      await section.getByRole("button", { name: "Refresh backups" }).click();
      return (await section.locator("tbody tr").first().textContent())?.includes("ready") ?? false;
    });
    const row = section.locator("tbody tr").first();
    expect(await row.textContent()).toContain("5.0 GiB");
    expect(await row.textContent()).toContain("on demand");
    expect(await seriousViolations(page)).toEqual([]);

    await row.getByRole("button", { name: "Restore" }).click();
    await section.getByText(/^Restoring: the app stops/).waitFor();
    await eventually("restored", async () => {
      await site.runner.settle();
      return (
        (await page.locator(".timeline").textContent())?.includes("Restored from the backup") ??
        false
      );
    });
    expect(await seriousViolations(page)).toEqual([]);

    // Into a new instance in one step: the subscribe page with the backup; the new instance
    // starts with its data, and its Backups section shows the restore done. (The demo
    // catalog allows one gitea per customer; the operator allows more here.)
    await site.runner.hosted
      .get("subscriptions")!
      .ctx.db.update(serviceCatalog)
      .set({ allowMultiple: true })
      .where(eq(serviceCatalog.slug, "gitea"));
    const source = page.url();
    await section
      .locator("tbody tr")
      .first()
      .getByRole("link", { name: "Restore into a new instance" })
      .click();
    await page.waitForURL(/\/apps\/gitea\/subscribe\?restoreFrom=/);
    await page.getByText("starts with the data of the backup you chose").waitFor();
    await page.getByRole("button", { name: /and subscribe$/ }).click();
    await page.waitForURL(
      (url) => /\/instances\/[0-9a-f-]+$/.test(url.pathname) && url.href !== source,
    );
    await eventually("new instance RUNNING", async () => {
      await site.runner.settle();
      return (await page.locator(".status-line .badge").textContent()) === "RUNNING";
    });
    const fresh = page.locator("section:has(#backups-h)");
    await eventually("restore shown as done", async () => {
      await site.runner.settle();
      await fresh.getByRole("button", { name: "Refresh backups" }).click();
      return (
        (await fresh.getByText("Restores into this instance").count()) > 0 &&
        ((
          await fresh.locator("table", { hasText: "Restores into this instance" }).textContent()
        )?.includes("restored") ??
          false)
      );
    });
    expect(await seriousViolations(page)).toEqual([]);
  }, 180_000);
});
