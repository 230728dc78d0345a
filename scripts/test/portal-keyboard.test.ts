import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { focused, outOfOrder, type Stop, tabbable, tabThrough, tabTo } from "./support/keyboard";
import { hasChromium, type PortalSite, startPortalSite } from "./support/portal-browser";

/**
 * The portal with the keyboard alone (Tab, Shift+Tab, Enter, Space, Escape;
 * no click anywhere): sign in, subscribe, open the instance, restart it
 * through its confirmation dialog, the skip link. On each key page: every
 * stop shows a visible focus indicator, Tab follows the order the page is
 * drawn in and comes back out (no trap), Shift+Tab retraces it. Then the
 * layout shift an instance's PROVISIONING -> RUNNING causes on the dashboard
 * and the instance page, at 360 and 1280 px, and the one a problem appearing
 * and clearing (FAILED, then RUNNING again) causes on the instance page.
 */
const PASSWORD = "a long enough password";

/** Records layout shifts from the first paint, before any page script (CSP does not apply here). */
const RECORD_SHIFTS = `
  window.__shifts = [];
  performance.setResourceTimingBufferSize(2000);
  const keep = (entries) => {
    for (const e of entries) {
      window.__shifts.push({
        at: e.startTime,
        value: e.value,
        input: e.hadRecentInput,
        sources: (e.sources || []).map((s) => s.node ? (s.node.nodeName + "." + (s.node.className || "") + " " + (s.node.textContent || "").slice(0, 40)) : "?"),
      });
    }
  };
  window.__shiftObserver = new PerformanceObserver((list) => keep(list.getEntries()));
  window.__shiftObserver.observe({ type: "layout-shift", buffered: true });
  window.__takeShifts = () => keep(window.__shiftObserver.takeRecords());
`;

interface Shift {
  at: number;
  value: number;
  input: boolean;
  sources: string[];
}
type ShiftWindow = Window & {
  __shifts: Shift[];
  __takeShifts(): void;
  __from?: number;
  __saw?: boolean;
  __runningAt?: number;
};

describe.skipIf(!hasChromium)("the portal with the keyboard only", () => {
  let site: PortalSite;
  let context: BrowserContext;
  let page: Page;
  const email = `keys-${Date.now()}@example.com`;
  let instancePath = "";

  beforeAll(async () => {
    // Each rollout step takes 2.5 s: a page polling every 2-3 s sees PROVISIONING before RUNNING.
    site = await startPortalSite({ K8S_SIMULATED_DELAY_MS: "2500", INSTANCE_RESTART_LIMIT: "0" });
    const res = await fetch(`${site.url}/api/v1/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: PASSWORD, name: "Keyboard User" }),
    });
    expect(res.status).toBe(201);
    context = await site.browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(RECORD_SHIFTS);
    page = await context.newPage();
  }, 120_000);
  afterAll(async () => {
    await context?.close();
    await site?.close();
  });

  /** Where a page's content is in: no "Loading…" left in it. */
  const loaded = (p: Page = page) =>
    p.waitForFunction(
      () =>
        ![...document.querySelectorAll("#app [role=status]")].some((e) =>
          e.textContent?.includes("Loading"),
        ),
    );

  /** After moving to another page, focus is on its content, and Tab goes into it (not back to the header). */
  async function expectFocusOnContent(heading: string | RegExp) {
    await page.getByRole("heading", { level: 1, name: heading }).waitFor();
    await loaded();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.closest("main")?.id)).toBe("main");
    await page.keyboard.press("Shift+Tab");
  }

  /**
   * Loads `path` afresh and walks it with Tab to the end and back with
   * Shift+Tab: every reachable thing, in drawing order, with focus shown.
   */
  async function auditKeyboard(path: string, heading: string | RegExp) {
    await page.goto(`${site.url}${path}`);
    await page.getByRole("heading", { level: 1, name: heading }).waitFor();
    await loaded();
    // A status still changing (the restart above) would change what can be reached mid-walk:
    // wait for RUNNING and its log lines (the scrollable box of lines is a stop of its own).
    if (path === instancePath)
      await page.waitForFunction(
        () =>
          document.querySelector(".status-line .badge")?.textContent === "RUNNING" &&
          !!document.querySelector(".logs-box pre.logs"),
        undefined,
        { timeout: 60_000 },
      );
    const expected = await tabbable(page);
    expect(expected.length).toBeGreaterThan(3);
    const forward = await tabThrough(page, "Tab", expected.length + 5);
    expect(forward.map((s) => s.name)).toEqual(expected);
    const backward = await tabThrough(page, "Shift+Tab", expected.length + 5);
    expect(backward.map((s) => s.name)).toEqual([...expected].reverse());
    // The skip link is drawn over the header's corner while it has focus: order from the next stop.
    expect(outOfOrder(forward.slice(1))).toEqual([]);
    const unseen = forward.filter(
      (s) => !s.indicator.focusVisible || !s.indicator.visible || s.indicator.contrast < 3,
    );
    expect(unseen.map((s) => `${s.name}: ${JSON.stringify(s.indicator)}`)).toEqual([]);
    // The skip link is the first stop, and is drawn inside the window when it has focus.
    const skip = forward[0] as Stop;
    expect(skip.name).toContain("Skip to content");
    expect(skip.x).toBeGreaterThanOrEqual(0);
    return forward;
  }

  it("signs in", async () => {
    await page.goto(`${site.url}/dashboard`);
    await page.waitForURL(/\/signin\?next=/);
    await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    await tabTo(page, "Email");
    await page.keyboard.type(email);
    await page.keyboard.press("Tab");
    expect((await focused(page))?.name).toContain("Password");
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/dashboard$/);
    await expectFocusOnContent("Your apps");
  }, 60_000);

  it("subscribes from the catalog", async () => {
    // The empty dashboard points at the catalog.
    await tabTo(page, "Choose one from the catalog");
    await page.keyboard.press("Enter");
    await page.waitForURL((u) => u.pathname === "/");
    await expectFocusOnContent("Apps");
    await tabTo(page, /^a\[\/apps\//);
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/apps\/[^/]+$/);
    await loaded();
    await tabTo(page, "Subscribe to");
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/subscribe$/);
    await expectFocusOnContent(/^Subscribe to /);
    // Space toggles the renewal box (off, then on again).
    const box = page.getByLabel("Renew automatically every month");
    await tabTo(page, "Renew automatically");
    await page.keyboard.press("Space");
    expect(await box.isChecked()).toBe(false);
    await page.keyboard.press("Space");
    expect(await box.isChecked()).toBe(true);
    await tabTo(page, /and subscribe/);
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/instances\/[0-9a-f-]+$/);
    instancePath = new URL(page.url()).pathname;
    await page.locator(".status-line .badge").waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");
    await page.getByText("RUNNING", { exact: true }).first().waitFor({ timeout: 60_000 });
  }, 120_000);

  it("restarts through the confirmation dialog: Escape cancels, focus returns to the button", async () => {
    await tabTo(page, /^button "Restart"$/);
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: /^Restart / });
    await dialog.waitFor();
    // Focus starts on the safe choice, inside the dialog.
    expect((await focused(page))?.name).toBe('button "Cancel"');
    await page.keyboard.press("Tab");
    expect((await focused(page))?.name).toBe('button "Restart now"');
    // Tab stays in the modal dialog: whatever has focus next is inside it, or nothing in the page.
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press("Tab");
      expect(
        await page.evaluate(
          () =>
            document.activeElement === document.body ||
            !!document.activeElement?.closest("dialog[open]"),
        ),
      ).toBe(true);
    }
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    expect((await focused(page))?.name).toBe('button "Restart"');
    expect(await page.getByText("Restarting: the status updates here.").count()).toBe(0);

    // Space opens it as well; confirm with Enter on "Restart now".
    await page.keyboard.press("Space");
    await dialog.waitFor();
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await dialog.waitFor({ state: "hidden" });
    await page.getByText("Restarting: the status updates here.").waitFor();
    const after = await focused(page);
    expect(after?.name).toBe('button "Restart"');
    expect(after?.indicator.focusVisible).toBe(true);
  }, 60_000);

  it("the skip link moves focus to the content, without a new page", async () => {
    await page.goto(`${site.url}${instancePath}`);
    await page.locator(".status-line .badge").waitFor();
    await page.keyboard.press("Tab");
    const skip = await focused(page);
    expect(skip?.name).toContain("Skip to content");
    expect(skip?.indicator.visible).toBe(true);
    const before = await page.evaluate(() => history.length);
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.activeElement?.id === "main");
    // The browser's own anchor navigation, not the router's: same page, the fragment kept.
    expect(new URL(page.url()).pathname).toBe(instancePath);
    expect(new URL(page.url()).hash).toBe("#main");
    // A fragment is one entry at most (the browser's own), never a re-render of the page.
    expect(await page.evaluate(() => history.length)).toBeLessThanOrEqual(before + 1);
    await page.keyboard.press("Tab");
    const first = await focused(page);
    expect(await page.evaluate(() => !!document.activeElement?.closest("main"))).toBe(true);
    expect(first?.indicator.visible).toBe(true);
  }, 60_000);

  it("sign-in, dashboard, instance, subscription, webhooks, account, invoices (and 360 px): visible focus in drawing order, no trap", async () => {
    await auditKeyboard(instancePath, /.+/);
    const subscription = await page
      .getByRole("link", { name: "Subscription and cancel" })
      .getAttribute("href");
    await auditKeyboard(subscription ?? "", / subscription$/);
    await auditKeyboard("/dashboard", "Your apps");
    await auditKeyboard("/webhooks", "Webhooks");
    await auditKeyboard("/account", "Account");
    await auditKeyboard("/invoices", "Invoices");
    // At 360 px the header wraps and cards stack: the order still follows the drawing.
    await page.setViewportSize({ width: 360, height: 740 });
    try {
      await auditKeyboard(instancePath, /.+/);
      await auditKeyboard("/dashboard", "Your apps");
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
    // Signed out: the sign-in page.
    const signedOut = await site.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const previous = page;
    page = await signedOut.newPage();
    try {
      await auditKeyboard("/signin", "Sign in");
    } finally {
      await signedOut.close();
      page = previous;
    }
  }, 120_000);

  it("an instance going PROVISIONING -> RUNNING moves nothing on the dashboard or the instance page (360 and 1280 px)", async () => {
    const login = await fetch(`${site.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    // The list the dashboard polls is brought up to date by reads of the instance (and, in
    // production, the reconcile sweep): read it until the last restart has finished.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await fetch(`${site.url}/api/v1${instancePath}`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      if (((await res.json()) as { status: string }).status === "RUNNING") break;
      if (Date.now() > deadline) throw new Error("the instance never came back to RUNNING");
      await new Promise((r) => setTimeout(r, 250));
    }
    const views: { name: string; page: Page; badge: string; logs: boolean }[] = [];
    // One page after another: each load spends the refresh cookie the previous one rotated.
    for (const width of [1280, 360]) {
      for (const [name, path, badge, logs] of [
        ["dashboard", "/dashboard", ".cards .badge", false],
        ["instance", instancePath, ".status-line .badge", true],
      ] as const) {
        const p = await context.newPage();
        await p.setViewportSize({ width, height: 800 });
        await p.goto(`${site.url}${path}`);
        await p.waitForFunction(
          (sel) => document.querySelector(sel)?.textContent === "RUNNING",
          badge,
          { timeout: 60_000 },
        );
        await loaded(p);
        expect(await p.evaluate(() => document.visibilityState)).toBe("visible");
        views.push({ name: `${name} at ${width} px`, page: p, badge, logs });
      }
    }
    for (const v of views)
      await v.page.evaluate(() => {
        (window as unknown as ShiftWindow).__from = performance.now();
      });
    const restart = await fetch(`${site.url}/api/v1${instancePath}/restart`, {
      method: "POST",
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(restart.status).toBe(202);

    const results = await Promise.all(
      views.map(async (v) => {
        // Seen PROVISIONING, then RUNNING again.
        await v.page.waitForFunction(
          (sel) => {
            const w = window as unknown as ShiftWindow;
            const text = document.querySelector(sel)?.textContent;
            if (text === "PROVISIONING") w.__saw = true;
            if (w.__saw && text === "RUNNING") {
              w.__runningAt ??= performance.now();
              return true;
            }
            return false;
          },
          v.badge,
          { timeout: 90_000, polling: 100 },
        );
        if (v.logs) {
          // The logs are read again for each new status (PROVISIONING, then RUNNING): both answered.
          await v.page.waitForFunction(
            () => {
              const w = window as unknown as ShiftWindow;
              const answered = performance
                .getEntriesByType("resource")
                .filter(
                  (e) =>
                    e.name.includes("/logs") &&
                    e.startTime >= (w.__from ?? 0) &&
                    (e as PerformanceResourceTiming).responseEnd > 0,
                );
              return answered.length >= 2;
            },
            undefined,
            { timeout: 30_000 },
          );
        }
        // Two frames: whatever the last answer changes is laid out and reported.
        const shifts = await v.page.evaluate(async () => {
          const frame = () => new Promise((r) => requestAnimationFrame(() => r(undefined)));
          await frame();
          await frame();
          const w = window as unknown as ShiftWindow;
          w.__takeShifts();
          return w.__shifts.filter((s) => s.at >= (w.__from ?? 0) && !s.input);
        });
        const total = shifts.reduce((sum, s) => sum + s.value, 0);
        await v.page.close();
        return { view: v.name, total, shifts };
      }),
    );
    for (const r of results) {
      expect(r.total, `${r.view}: ${JSON.stringify(r.shifts)}`).toBeLessThan(0.01);
    }
    // The check can fail: every page did record its layout (a shift of 0 is a measurement, not a blank).
    expect(results).toHaveLength(4);
  }, 180_000);

  it("an instance failing with its problem in words, then recovering, moves nothing on the instance page (360 and 1280 px)", async () => {
    // The status answers are played in the browser (the page renders what the API says):
    // the real answer, turned FAILED with a long problem, then the real RUNNING one again.
    const problem =
      "crash looping: the app exits right after it starts; its last lines are in the logs below";
    const apiPath = `/api/v1${instancePath}`;
    const measured: { view: string; total: number; shifts: Shift[]; sawProblem: boolean }[] = [];
    for (const width of [1280, 360]) {
      const p = await context.newPage();
      await p.setViewportSize({ width, height: 800 });
      let failing = false;
      await p.route(
        (url) => url.pathname === apiPath,
        async (route) => {
          // Never a 304: the page must get a body to render, failing or not.
          const headers = { ...route.request().headers() };
          delete headers["if-none-match"];
          const real = await route.fetch({ headers });
          const body = (await real.json()) as Record<string, unknown>;
          if (failing) Object.assign(body, { status: "FAILED", lastError: problem });
          const { etag: _etag, ...rest } = real.headers();
          await route.fulfill({ status: real.status(), headers: rest, json: body });
        },
      );
      await p.goto(`${site.url}${instancePath}`);
      await p.waitForFunction(
        () =>
          document.querySelector(".status-line .badge")?.textContent === "RUNNING" &&
          !!document.querySelector(".logs-box pre.logs"),
        undefined,
        { timeout: 60_000 },
      );
      await loaded(p);
      await p.evaluate(() => {
        (window as unknown as ShiftWindow).__from = performance.now();
      });
      failing = true;
      await p.waitForFunction(
        () => document.querySelector(".status-problem")?.textContent?.includes("crash looping"),
        undefined,
        { timeout: 30_000 },
      );
      const sawProblem = (await p.locator(".status-line .badge").textContent()) === "FAILED";
      failing = false;
      await p.waitForFunction(
        () =>
          document.querySelector(".status-line .badge")?.textContent === "RUNNING" &&
          document.querySelector(".status-problem")?.textContent === "",
        undefined,
        { timeout: 30_000 },
      );
      const shifts = await p.evaluate(async () => {
        const frame = () => new Promise((r) => requestAnimationFrame(() => r(undefined)));
        await frame();
        await frame();
        const w = window as unknown as ShiftWindow;
        w.__takeShifts();
        return w.__shifts.filter((s) => s.at >= (w.__from ?? 0) && !s.input);
      });
      await p.close();
      measured.push({
        view: `instance at ${width} px`,
        total: shifts.reduce((sum, s) => sum + s.value, 0),
        shifts,
        sawProblem,
      });
    }
    for (const m of measured) {
      expect(m.sawProblem, m.view).toBe(true);
      expect(m.total, `${m.view}: ${JSON.stringify(m.shifts)}`).toBeLessThan(0.01);
    }
  }, 180_000);

  it("a hidden tab asks the API nothing, and asks at once when shown again", async () => {
    // Headless Chromium keeps every tab visible, so the page is told it is hidden the way the
    // browser tells it: document.hidden and a visibilitychange event. The polling is the real one.
    const p = await context.newPage();
    const polls: number[] = [];
    p.on("request", (r) => {
      if (new URL(r.url()).pathname === "/api/v1/instances") polls.push(Date.now());
    });
    await p.goto(`${site.url}/dashboard`);
    await p.waitForFunction(
      () => document.querySelector(".cards .badge")?.textContent === "RUNNING",
      undefined,
      { timeout: 60_000 },
    );
    const setHidden = (hidden: boolean) =>
      p.evaluate((h) => {
        Object.defineProperty(document, "hidden", { configurable: true, get: () => h });
        Object.defineProperty(document, "visibilityState", {
          configurable: true,
          get: () => (h ? "hidden" : "visible"),
        });
        document.dispatchEvent(new Event("visibilitychange"));
      }, hidden);
    // Visible: the dashboard polls every 3 s.
    await p.waitForTimeout(7_000);
    expect(polls.length).toBeGreaterThanOrEqual(2);
    await setHidden(true);
    await p.waitForTimeout(1_000); // a request already on its way when it was hidden
    const hiddenFrom = polls.length;
    await p.waitForTimeout(10_000);
    expect(polls.length - hiddenFrom).toBe(0);
    // At once: well before the next 3 s tick would have come.
    const asked = p.waitForRequest((r) => new URL(r.url()).pathname === "/api/v1/instances", {
      timeout: 1_500,
    });
    const shown = Date.now();
    await setHidden(false);
    await asked;
    expect(polls.at(-1)).toBeGreaterThanOrEqual(shown);
    await p.close();
  }, 60_000);
});
