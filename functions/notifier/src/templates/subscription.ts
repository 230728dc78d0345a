import type { EventData } from "@minispod/shared";
import { formatDate, type LinkBuilder, plural } from "./format";
import { action, facts, note, paragraph } from "./render";
import type { TemplateMap } from "./types";

type SubscriptionData = EventData<"subscription.activated">;

const view = (data: SubscriptionData, link: LinkBuilder, label = "View subscription") =>
  action(label, link(`/subscriptions/${encodeURIComponent(data.subscriptionId)}`));

const period = (data: SubscriptionData, label = "Current period ends") =>
  [label, formatDate(data.currentPeriodEnd)] as const;

const autoRenew = (data: SubscriptionData) =>
  ["Auto-renew", data.autoRenew ? "on" : "off"] as const;

export const subscriptionTemplates = {
  "subscription.activated": {
    name: "subscription-activated",
    render: ({ data, link, user }) => ({
      subject: `Your ${data.serviceName} subscription is active`,
      blocks: [
        paragraph(`Thank you! Your subscription to ${data.serviceName} is active.`),
        paragraph(
          "We are setting up your instance now and will email you as soon as it is running.",
        ),
        facts(["Service", data.serviceName], period(data), autoRenew(data)),
        view(data, link),
        // Subscribing is allowed before the address is confirmed (the payment is the
        // stronger check); renewal, payment and deletion notices go to it, so remind.
        ...(user.emailVerified === false
          ? [
              note(
                `Your email address is not confirmed yet. Renewal reminders, failed payments and the deletion of your data are announced to ${user.email}: please confirm it with the link we sent, or ask for a new one from your account page.`,
              ),
            ]
          : []),
      ],
    }),
  },
  "subscription.renewed": {
    name: "subscription-renewed",
    render: ({ data, link }) => ({
      subject: `Your ${data.serviceName} subscription was renewed`,
      blocks: [
        paragraph(`Your subscription to ${data.serviceName} was renewed for another period.`),
        facts(["Service", data.serviceName], period(data, "Paid until"), autoRenew(data)),
        view(data, link),
      ],
    }),
  },
  "subscription.expiring_soon": {
    name: "subscription-expiring-soon",
    render: ({ data, link }) => {
      const when = data.daysLeft <= 0 ? "today" : `in ${plural(data.daysLeft, "day")}`;
      const end = formatDate(data.currentPeriodEnd);
      if (data.reason === "no_card") {
        return {
          subject: `Your ${data.serviceName} subscription ends ${when} unless you renew it`,
          blocks: [
            paragraph(
              `Your subscription to ${data.serviceName} ends on ${end}: we have no card on file to renew it automatically.`,
            ),
            paragraph(
              `Add a card or renew it by hand before ${end} to keep your app running without interruption.`,
            ),
            view(data, link, "Renew subscription"),
          ],
        };
      }
      // Events from before `reason` existed: auto-renew on meant a reminder before a charge.
      return data.autoRenew && data.reason === undefined
        ? {
            subject: `Your ${data.serviceName} subscription renews ${when}`,
            blocks: [
              paragraph(
                `Your subscription to ${data.serviceName} renews automatically on ${formatDate(data.currentPeriodEnd)}.`,
              ),
              paragraph(
                "Please make sure your payment method is up to date so your app keeps running.",
              ),
              view(data, link),
            ],
          }
        : {
            subject: `Your ${data.serviceName} subscription ends ${when}`,
            blocks: [
              paragraph(
                `Your subscription to ${data.serviceName} ends on ${formatDate(data.currentPeriodEnd)} and will not renew.`,
              ),
              paragraph("Renew it before then to keep your app running without interruption."),
              view(data, link, "Renew subscription"),
            ],
          };
    },
  },
  "subscription.expired": {
    name: "subscription-expired",
    render: ({ data, link }) => ({
      subject: `Your ${data.serviceName} subscription has expired`,
      blocks: [
        paragraph(
          `Your subscription to ${data.serviceName} ended on ${formatDate(data.currentPeriodEnd)}. Its instance is suspended.`,
        ),
        paragraph(
          data.dataKeptUntil
            ? `Your data is kept until ${formatDate(data.dataKeptUntil)}: renew the subscription before then to bring the app back as it was.`
            : "Your data is kept for a while: renew the subscription to bring the app back as it was.",
        ),
        view(data, link, "Renew subscription"),
        note(
          data.dataKeptUntil
            ? `On ${formatDate(data.dataKeptUntil)} the instance and its data are deleted; its newest backup, if it has one, is kept a while longer so you can restore it into a new subscription, and we email you when it is gone too.`
            : "After the retention period the instance and its data are deleted for good.",
        ),
      ],
    }),
  },
  "subscription.cancelled": {
    name: "subscription-cancelled",
    render: ({ data, link }) => ({
      subject: `Your ${data.serviceName} subscription was cancelled and its data deleted`,
      blocks: [
        paragraph(
          `Your subscription to ${data.serviceName} was cancelled with immediate effect: its instance and all its data are being deleted and cannot be recovered.`,
        ),
        paragraph(
          "If this was a mistake, you can subscribe again at any time (with a new, empty app).",
        ),
        view(data, link),
      ],
    }),
  },
  "subscription.cancel_scheduled": {
    name: "subscription-cancel-scheduled",
    render: ({ data, link }) => ({
      subject: `Your ${data.serviceName} subscription ends on ${formatDate(data.effectiveAt)}`,
      blocks: [
        paragraph(
          `You cancelled your subscription to ${data.serviceName}. Your app keeps running until ${formatDate(data.effectiveAt)}, the end of the period you paid for, and will not renew.`,
        ),
        paragraph(
          `Then it is suspended and its data kept until ${formatDate(data.dataKeptUntil)}: renew before then to get it back as it was. After that it is deleted for good.`,
        ),
        paragraph("Changed your mind? Undo the cancellation any time before the end."),
        view(data, link, "Undo cancellation"),
      ],
    }),
  },
  "subscription.cancel_undone": {
    name: "subscription-cancel-undone",
    render: ({ data, link }) => ({
      subject: `Your ${data.serviceName} subscription continues`,
      blocks: [
        paragraph(
          `Your cancellation was taken back: your subscription to ${data.serviceName} renews automatically on ${formatDate(data.currentPeriodEnd)}.`,
        ),
        facts(["Service", data.serviceName], period(data, "Renews on"), autoRenew(data)),
        view(data, link),
      ],
    }),
  },
  "subscription.payment_method_updated": {
    name: "subscription-payment-method-updated",
    render: ({ data, link }) => ({
      subject: `Your payment method for ${data.serviceName} was changed`,
      blocks: [
        paragraph(
          `Renewals of your ${data.serviceName} subscription are now charged to the payment method you just set.`,
        ),
        ...(data.retryingOverdue === true
          ? [paragraph("We are retrying the overdue renewal on it right away.")]
          : []),
        paragraph("If you did not make this change, contact our support at once."),
        view(data, link, "Review billing"),
      ],
    }),
  },
  "subscription.past_due": {
    name: "subscription-past-due",
    render: ({ data, link }) => ({
      subject: `Payment for your ${data.serviceName} subscription is overdue`,
      blocks: [
        paragraph(
          `We could not collect the renewal payment for your ${data.serviceName} subscription.`,
        ),
        paragraph(
          "Your app keeps running while we retry over the next days. Update your payment method and we retry on it at once, so the subscription does not expire.",
        ),
        view(data, link, "Review billing"),
      ],
    }),
  },
} satisfies TemplateMap;
