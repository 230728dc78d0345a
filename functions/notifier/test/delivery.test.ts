import { emailMessages } from "@minispod/db";
import type { AppEnv, EventType } from "@minispod/shared";
import { createHarness, type Harness, type TestUser } from "@minispod/shared/testing";
import { eq } from "drizzle-orm";
import type { Hono } from "hono";
import type { AddressObject } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { notifierFunction } from "../src/function";
import { escapeHtml } from "../src/templates/render";
import { APP_URL, cloudEvent, deliver, ENCODED_TOKEN, sampleData } from "./support/events";
import { startSmtp, type TestSmtp } from "./support/smtp-server";

type Data = Record<string, unknown>;

interface Case {
  type: EventType;
  template: string;
  subject: RegExp;
  /** Links the customer needs, built from APP_URL and the event data. */
  links: (data: Data) => string[];
  /** Phrases the text part must carry. */
  says: string[];
}

const verify = `${APP_URL}/verify-email?token=${ENCODED_TOKEN}`;
const subscriptionLink = (d: Data) => [`${APP_URL}/subscriptions/${String(d.subscriptionId)}`];
const instanceLink = (d: Data) => `${APP_URL}/instances/${String(d.instanceId)}`;

const cases: Case[] = [
  {
    type: "domain.active",
    template: "domain-active",
    subject: /^shop\.example\.com now serves your app$/,
    links: (d) => ["https://shop.example.com/", `${instanceLink(d)}#domains`],
    says: ["verified", "HTTPS"],
  },
  {
    type: "domain.failed",
    template: "domain-failed",
    subject: /^shop\.example\.com needs your attention$/,
    links: (d) => [`${instanceLink(d)}#domains`],
    says: ["has a CNAME record pointing at", "Check now"],
  },
  {
    type: "user.registered",
    template: "welcome",
    subject: /^Welcome to minispod/,
    links: () => [verify],
    says: ["Confirm email address"],
  },
  {
    type: "user.email_verification_requested",
    template: "verify-email",
    subject: /^Confirm your email address$/,
    links: () => [verify],
    says: ["someone@example.com"],
  },
  {
    type: "user.password_reset_requested",
    template: "password-reset",
    subject: /^Reset your minispod password$/,
    links: () => [`${APP_URL}/reset-password?token=${ENCODED_TOKEN}`],
    says: ["can be used once"],
  },
  {
    type: "user.password_changed",
    template: "password-changed",
    subject: /password was changed/,
    links: () => [`${APP_URL}/forgot-password`],
    says: ["signed out"],
  },
  {
    type: "subscription.activated",
    template: "subscription-activated",
    subject: /^Your Nextcloud subscription is active$/,
    links: subscriptionLink,
    says: ["setting up your instance"],
  },
  {
    type: "subscription.renewed",
    template: "subscription-renewed",
    subject: /^Your Nextcloud subscription was renewed$/,
    links: subscriptionLink,
    says: ["Paid until"],
  },
  {
    type: "subscription.expiring_soon",
    template: "subscription-expiring-soon",
    subject: /^Your Nextcloud subscription ends in 3 days$/,
    links: subscriptionLink,
    says: ["will not renew"],
  },
  {
    type: "subscription.expired",
    template: "subscription-expired",
    subject: /has expired$/,
    links: subscriptionLink,
    says: ["suspended"],
  },
  {
    type: "subscription.cancelled",
    template: "subscription-cancelled",
    subject: /was cancelled and its data deleted$/,
    links: subscriptionLink,
    says: ["deleted"],
  },
  {
    type: "subscription.past_due",
    template: "subscription-past-due",
    subject: /overdue$/,
    links: subscriptionLink,
    says: ["keeps running"],
  },
  {
    type: "payment.failed",
    template: "payment-failed",
    subject: /^Your payment of €19\.99 failed$/,
    links: (d) => [`${APP_URL}/invoices/${String(d.invoiceId)}`],
    says: ["The card was declined."],
  },
  {
    type: "instance.running",
    template: "instance-running",
    subject: /^Your app is up and running$/,
    links: (d) => ["https://abc123.apps.minispod.test/", instanceLink(d)],
    says: ["Open your app"],
  },
  {
    type: "instance.failed",
    template: "instance-failed",
    subject: /could not be started$/,
    links: (d) => [instanceLink(d)],
    says: ["image could not be pulled"],
  },
  {
    type: "webhook.endpoint_disabled",
    template: "webhook-endpoint-disabled",
    subject: /^A webhook endpoint was disabled$/,
    links: (d) => [`${APP_URL}/webhooks/${String(d.endpointId)}`],
    says: ["https://hooks.example.com/minispod"],
  },
];

const addressOf = (to: AddressObject | AddressObject[] | undefined) =>
  (Array.isArray(to) ? to[0] : to)?.value[0]?.address;

let h: Harness;
let smtp: TestSmtp;
let app: Hono<AppEnv>;
let user: TestUser;
// Characters that must be escaped in HTML and left alone in text.
const NAME = `Ada "<b>Lovelace</b>" & Co`;

beforeAll(async () => {
  h = await createHarness();
  smtp = await startSmtp();
  app = await h.app(notifierFunction, {
    SMTP_HOST: "127.0.0.1",
    SMTP_PORT: String(smtp.port),
    APP_URL: `${APP_URL}/`,
  });
  user = await h.user({ name: NAME });
});
afterAll(async () => {
  await smtp?.close();
  await h?.close();
});

describe("one email per customer-facing event, over SMTP", () => {
  it.each(cases)(
    "$type sends $template to the user",
    async ({ type, template, subject, links, says }) => {
      const data = sampleData[type]!(user.id);
      const event = cloudEvent(type, data);
      const before = smtp.messages.length;

      const res = await deliver(app, event);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ outcome: "processed" });

      expect(smtp.messages).toHaveLength(before + 1);
      const mail = smtp.messages.at(-1)!;
      expect(addressOf(mail.to)).toBe(user.email);
      expect(mail.from?.value).toEqual([{ name: "minispod", address: "no-reply@minispod.local" }]);
      expect(mail.subject).toMatch(subject);
      expect(mail.headers.get("x-minispod-template")).toBe(template);
      expect(mail.messageId).toBe(`<${event.id}.${template}@minispod.local>`);

      const text = mail.text ?? "";
      const html = typeof mail.html === "string" ? mail.html : "";
      expect(text).toContain(`Hi ${NAME},`);
      expect(html).toContain(`Hi ${escapeHtml(NAME)},`);
      expect(html).not.toContain("<b>Lovelace</b>");
      for (const link of links(data as Data)) {
        expect(text).toContain(link);
        expect(html).toContain(`href="${escapeHtml(link)}"`);
      }
      for (const phrase of says) expect(text).toContain(phrase);

      const rows = await h.database.db
        .select()
        .from(emailMessages)
        .where(eq(emailMessages.eventId, event.id));
      expect(rows).toEqual([
        expect.objectContaining({
          template,
          userId: user.id,
          to: user.email,
          subject: mail.subject,
          status: "sent",
          providerMessageId: mail.messageId,
          sentAt: expect.any(Date),
        }),
      ]);
    },
  );
});

describe("SMTP settings", () => {
  it("authenticates with SMTP_USER and SMTP_PASS", async () => {
    const secured = await startSmtp({ auth: { user: "mailer", pass: "s3cret" } });
    try {
      const authed = await h.app(notifierFunction, {
        SMTP_HOST: "127.0.0.1",
        SMTP_PORT: String(secured.port),
        SMTP_USER: "mailer",
        SMTP_PASS: "s3cret",
        SMTP_FROM: "Minispod Billing <billing@mail.minispod.test>",
      });
      const event = cloudEvent(
        "user.password_changed",
        sampleData["user.password_changed"]!(user.id),
      );
      const res = await deliver(authed, event);
      expect(res.status).toBe(200);
      expect(secured.logins).toEqual([{ username: "mailer", password: "s3cret" }]);
      expect(secured.messages[0]?.from?.value).toEqual([
        { name: "Minispod Billing", address: "billing@mail.minispod.test" },
      ]);
      expect(secured.messages[0]?.messageId).toBe(
        `<${event.id}.password-changed@mail.minispod.test>`,
      );
    } finally {
      await secured.close();
    }
  });
});
