import { formatMoney } from "./format";
import { action, facts, paragraph } from "./render";
import type { TemplateMap } from "./types";

export const paymentTemplates = {
  "payment.failed": {
    name: "payment-failed",
    render: ({ data, link }) => {
      const amount = formatMoney(data.amountMinor, data.currency);
      return {
        subject: `Your payment of ${amount} failed`,
        blocks: [
          paragraph(`We tried to charge ${amount} and the payment did not go through.`),
          facts(
            ["Amount", amount],
            [
              "Reason",
              data.failureMessage ?? data.failureCode ?? "declined by the payment provider",
            ],
          ),
          paragraph(
            "Please check your payment method. If this was a renewal, we retry during a grace period and your app keeps running meanwhile.",
          ),
          action("View invoice", link(`/invoices/${encodeURIComponent(data.invoiceId)}`)),
        ],
      };
    },
  },
} satisfies TemplateMap;
