import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { type Browser, chromium, type Page } from "playwright-core";
import { functions } from "../../src/local/functions";
import { createLocalRunner, type LocalRunner } from "../../src/local/runner";
import { freePort } from "./process";

/** The portal driven by Debian's Chromium against the whole local runner. */
export const CHROMIUM = "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);

export interface PortalSite {
  url: string;
  runner: LocalRunner;
  browser: Browser;
  close(): Promise<void>;
}

/** The local runner on a real port (APP_URL on it, so emailed links point here) and Chromium. */
export async function startPortalSite(extra: Record<string, string> = {}): Promise<PortalSite> {
  const h: Harness = await createHarness();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const runner = await createLocalRunner({
    source: {
      DATABASE_URL: h.databaseUrl,
      REDIS_URL: h.redisUrl,
      REDIS_KEY_PREFIX: h.redisPrefix,
      DATA_DIR: mkdtempSync(join(tmpdir(), "minispod-portal-")),
      LOCAL_CRON: "false",
      LOG_LEVEL: "silent",
      BCRYPT_COST: "4",
      ADMIN_PASSWORD: "admin password 1",
      APP_URL: url,
      PORT: String(port),
      // One browser reloads pages many times: the per-address limits are not under test here.
      AUTH_RATE_LIMIT_LOGIN: "1000",
      AUTH_RATE_LIMIT_RESET: "1000",
      AUTH_RATE_LIMIT_REGISTER: "1000",
      ...extra,
    },
    functions,
  });
  const server = serve({ fetch: runner.app.fetch, hostname: "127.0.0.1", port });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  void (server.address() as AddressInfo);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--headless"],
  });
  return {
    url,
    runner,
    browser,
    async close() {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runner.close();
      await h.close();
    },
  };
}

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve("axe-core/axe.min.js"),
  "utf8",
);

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: number;
}

/** axe-core's serious and critical findings on the page as it is now. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated through the DevTools protocol: the page's CSP (no inline script) does not apply.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } }).axe;
    const result = await axe.run();
    return result.violations as {
      id: string;
      impact: string | null;
      help: string;
      nodes: unknown[];
    }[];
  });
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
}

/** The newest mail to `to` whose subject matches, waiting for the notifier to send it. */
export async function waitForMail(
  site: PortalSite,
  to: string,
  subject: RegExp,
  timeoutMs = 20_000,
): Promise<{ subject: string; text: string }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await site.runner.settle();
    const list = (await (await fetch(`${site.url}/_dev/notifier/mailbox`)).json()) as {
      items: { id: string; to: string; subject: string }[];
    };
    const found = list.items.find((m) => m.to.includes(to) && subject.test(m.subject));
    if (found) {
      return (await (await fetch(`${site.url}/_dev/notifier/mailbox/${found.id}`)).json()) as {
        subject: string;
        text: string;
      };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no mail to ${to} matching ${subject} within ${timeoutMs} ms`);
}

/** The first link into the site that a mail's text carries on `path`. */
export function linkIn(mail: { text: string }, site: PortalSite, path: string): string {
  const link = (mail.text.match(/https?:\/\/\S+/g) ?? []).find((u) =>
    u.startsWith(`${site.url}${path}`),
  );
  if (!link) throw new Error(`no ${path} link in:\n${mail.text}`);
  return link;
}
