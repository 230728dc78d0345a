import { action, facts, paragraph } from "./render";
import type { TemplateMap } from "./types";

export const webhookTemplates = {
  "webhook.endpoint_disabled": {
    name: "webhook-endpoint-disabled",
    render: ({ data, link }) => ({
      subject: "A webhook endpoint was disabled",
      blocks: [
        paragraph(
          "We stopped sending events to one of your webhook endpoints because deliveries kept failing.",
        ),
        facts(["Endpoint", data.url], ["Reason", data.reason]),
        paragraph("Fix the endpoint, then enable it again from your dashboard."),
        action("Review endpoint", link(`/webhooks/${encodeURIComponent(data.endpointId)}`)),
      ],
    }),
  },
} satisfies TemplateMap;
