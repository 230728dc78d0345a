import { APP_URL, sampleData } from "@minispod/fn-notifier/sample-events";
import {
  type EmailTemplate,
  linkBuilder,
  renderEmail,
  templates,
} from "@minispod/fn-notifier/templates";
import { portalFunction } from "@minispod/fn-portal";
import { matchPage } from "@minispod/fn-portal/routes";
import type { EventType } from "@minispod/shared";
import { createHarness, type Harness } from "@minispod/shared/testing";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Every link in every email lands on a portal page: each template is rendered
 * with the notifier's sample events, and each link it carries (HTML and text)
 * is requested from the portal app, which must answer that page.
 */
const USER_ID = "00000000-0000-4000-8000-000000000001";
let h: Harness;
let portal: Hono;

beforeAll(async () => {
  h = await createHarness();
  portal = (await h.app(portalFunction)) as unknown as Hono;
});
afterAll(() => h?.close());

function linksOf(type: EventType): string[] {
  const template = templates[type] as EmailTemplate<EventType>;
  const data = sampleData[type]?.(USER_ID);
  expect(data, `sample data for ${type}`).toBeDefined();
  const email = renderEmail(
    template.render({
      data: data as never,
      user: { name: "Ada", email: "ada@example.com" },
      link: linkBuilder(APP_URL),
    }),
    { name: "Ada" },
  );
  const fromHtml = [...email.html.matchAll(/href="([^"]+)"/g)].map((m) =>
    m[1]!.replaceAll("&amp;", "&"),
  );
  // Emails also name addresses outside the app (the customer's running app, their
  // webhook endpoint): only links into the app are the portal's to answer.
  const intoApp = (u: string) => new URL(u).origin === new URL(APP_URL).origin;
  const links = [...fromHtml, ...(email.text.match(/https?:\/\/\S+/g) ?? [])].filter(intoApp);
  expect(links.length, `${type} has no link into the app`).toBeGreaterThan(0);
  return [...new Set(links)];
}

const types = Object.keys(templates) as EventType[];

describe("email links land on portal pages", () => {
  it.each(types)("%s", async (type) => {
    for (const link of linksOf(type)) {
      const url = new URL(link);
      const matched = matchPage(url.pathname);
      expect(matched, `${link} is no portal page`).toBeDefined();
      const res = await portal.request(url.pathname + url.search);
      expect(res.status, link).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(await res.text()).toContain(`data-page="${matched!.page.id}"`);
    }
  });

  it("covers every page an email links to (verify, reset, forgot, subscription, instance, invoice, webhook)", () => {
    const pages = new Set(
      types.flatMap((type) => linksOf(type).map((l) => matchPage(new URL(l).pathname)?.page.id)),
    );
    expect([...pages]).toEqual(
      expect.arrayContaining([
        "forgot",
        "instance",
        "invoice",
        "reset",
        "subscription",
        "verify",
        "webhook",
      ]),
    );
    expect(pages.has(undefined)).toBe(false);
  });

  it("a path that is no page is a 404 problem, not a page", async () => {
    const res = await portal.request("/instances/a/b/c");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/problem\+json/);
  });
});
