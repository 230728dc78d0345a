import type { EventType } from "@minispod/shared";
import { describe, expect, it } from "vitest";
import { formatMoney, linkBuilder } from "../src/templates/format";
import { templates } from "../src/templates/index";
import { escapeHtml, renderEmail } from "../src/templates/render";
import type { EmailTemplate } from "../src/templates/types";
import { sampleData } from "./support/events";

const USER_ID = "00000000-0000-4000-8000-000000000001";
const link = linkBuilder("https://app.example.com");

function render<T extends EventType>(type: T, data: unknown, name = "Ada") {
  const template = templates[type] as EmailTemplate<EventType>;
  const content = template.render({
    data: data as never,
    user: { name, email: "ada@example.com" },
    link,
  });
  return renderEmail(content, { name });
}

describe("templates", () => {
  it.each(Object.keys(templates) as EventType[])("%s renders text and html", (type) => {
    const data = sampleData[type]?.(USER_ID);
    expect(data, `sample data for ${type} in test/support/events.ts`).toBeDefined();
    const email = render(type, data);
    expect(email.subject).not.toMatch(/\n/);
    expect(email.text).toMatch(/^Hi Ada,\n/);
    expect(email.html).toMatch(/^<!doctype html>/);
  });

  it("escapes every value that reaches the html", () => {
    const email = render(
      "webhook.endpoint_disabled",
      {
        ...sampleData["webhook.endpoint_disabled"]!(USER_ID),
        url: `https://x.example/"><script>alert(1)</script>`,
        reason: "<img src=x onerror=alert(1)>",
      },
      "<i>Eve</i>",
    );
    expect(email.html).not.toMatch(/<script|<img|<i>/);
    expect(email.html).toContain("&lt;script&gt;");
    expect(email.html).toContain("Hi &lt;i&gt;Eve&lt;/i&gt;,");
    expect(email.text).toContain("<img src=x onerror=alert(1)>");
  });

  it("never turns a non-http URL from event data into a link", () => {
    const email = render("instance.running", {
      ...sampleData["instance.running"]!(USER_ID),
      url: "javascript:alert(1)",
    });
    expect(email.html).not.toContain("javascript:");
    expect(email.text).not.toContain("javascript:");
    expect(email.text).toContain("/instances/");
  });

  it("names the app when the instance event carries a service name", () => {
    const email = render("instance.running", {
      ...sampleData["instance.running"]!(USER_ID),
      serviceName: "Nextcloud",
    });
    expect(email.subject).toBe("Nextcloud is up and running");
    expect(email.text).toContain("your Nextcloud instance is running");
    const failed = render("instance.failed", {
      ...sampleData["instance.failed"]!(USER_ID),
      serviceName: "Nextcloud",
    });
    expect(failed.subject).toBe("Nextcloud could not be started");
    expect(failed.text).toContain("Your Nextcloud instance ran into a problem");
  });

  it("says 'your app' for an instance event written before names were carried", () => {
    const email = render("instance.running", sampleData["instance.running"]!(USER_ID));
    expect(email.subject).toBe("Your app is up and running");
  });

  it("points to the credentials page from the running email, never the values", () => {
    const email = render("instance.running", {
      ...sampleData["instance.running"]!(USER_ID),
      serviceName: "Vaultwarden",
      credentials: ["Admin page token"],
    });
    expect(email.text).toContain(
      'Its Admin page token is on the instance\'s page under "Credentials"',
    );
    expect(email.text).toContain("never sent by email");
    const plain = render("instance.running", sampleData["instance.running"]!(USER_ID));
    expect(plain.text).not.toContain("Credentials");
  });

  it("tells the owner a credential was rotated and where to read the new one", () => {
    const data = sampleData["instance.credentials_rotated"]!(USER_ID) as { instanceId: string };
    const email = render("instance.credentials_rotated", data);
    expect(email.subject).toBe("A credential of your Vaultwarden instance was changed");
    expect(email.text).toContain("ADMIN_TOKEN of your Vaultwarden instance");
    expect(email.text).toContain(`/instances/${data.instanceId}/credentials`);
  });

  it("says when a cancelled app stops and how long its data is kept, or that an immediate cancel deletes the data", () => {
    const scheduled = render(
      "subscription.cancel_scheduled",
      sampleData["subscription.cancel_scheduled"]!(USER_ID),
    );
    expect(scheduled.text).toContain("keeps running until");
    expect(scheduled.text).toContain("Undo the cancellation");
    const now = render("subscription.cancelled", sampleData["subscription.cancelled"]!(USER_ID));
    expect(now.subject).toContain("data deleted");
    expect(now.text).toContain("cannot be recovered");
  });

  it("words the expiry reminder by auto-renew and days left", () => {
    const data = sampleData["subscription.expiring_soon"]!(USER_ID);
    expect(render("subscription.expiring_soon", { ...data, daysLeft: 1 }).subject).toBe(
      "Your Nextcloud subscription ends in 1 day",
    );
    const renewing = render("subscription.expiring_soon", {
      ...data,
      autoRenew: true,
      daysLeft: 7,
    });
    expect(renewing.subject).toBe("Your Nextcloud subscription renews in 7 days");
    expect(renewing.text).toContain("payment method");
  });

  it("tells a customer without a card on file to add one or renew by hand before the end", () => {
    const data = {
      ...sampleData["subscription.expiring_soon"]!(USER_ID),
      currentPeriodEnd: "2026-04-01T10:00:00.000Z",
    };
    const noCard = render("subscription.expiring_soon", {
      ...data,
      autoRenew: true,
      daysLeft: 3,
      reason: "no_card",
    });
    expect(noCard.subject).toBe("Your Nextcloud subscription ends in 3 days unless you renew it");
    expect(noCard.text).toContain("we have no card on file to renew it automatically");
    expect(noCard.text).toContain("Add a card or renew it by hand before 1 April 2026");
    expect(noCard.text).toContain("Renew subscription");
    // Turned off by the customer: it simply ends, no word of a card.
    const notRenewing = render("subscription.expiring_soon", { ...data, reason: "not_renewing" });
    expect(notRenewing.subject).toBe("Your Nextcloud subscription ends in 3 days");
    expect(notRenewing.text).toContain("ends on 1 April 2026 and will not renew");
    expect(notRenewing.text).not.toContain("card");
  });
});

describe("formatting", () => {
  it("builds links under APP_URL, keeping its path and encoding the query", () => {
    expect(linkBuilder("https://example.com/app/")("/verify-email", { token: "a+b c" })).toBe(
      "https://example.com/app/verify-email?token=a%2Bb+c",
    );
  });

  it("formats money by the currency's minor units", () => {
    expect(formatMoney(1999, "EUR")).toBe("€19.99");
    expect(formatMoney(1500, "JPY")).toBe("JP¥1,500");
    expect(formatMoney(1999, "ZZ")).toBe("1999 ZZ (minor units)");
  });

  it("escapes the five HTML-significant characters", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe(
      "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
    );
  });
});
