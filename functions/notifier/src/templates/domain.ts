import type { EventData } from "@minispod/shared";
import { action, paragraph } from "./render";
import type { TemplateMap } from "./types";

type DomainData = EventData<"domain.active">;

const domainsPage = (data: DomainData, link: (path: string) => string) =>
  action("Manage domains", link(`/instances/${encodeURIComponent(data.instanceId)}#domains`));

/** Custom domains: one email when a domain starts serving, one when it fails. */
export const domainTemplates = {
  "domain.active": {
    name: "domain-active",
    render: ({ data, link }) => ({
      subject: `${data.domain} now serves your app`,
      blocks: [
        paragraph(
          `Your custom domain ${data.domain} is verified and serves your app over HTTPS with its own certificate.`,
        ),
        action("Open it", `https://${data.domain}/`),
        domainsPage(data, link),
      ],
    }),
  },
  "domain.failed": {
    name: "domain-failed",
    render: ({ data, link }) => ({
      subject: `${data.domain} needs your attention`,
      blocks: [
        paragraph(`Your custom domain ${data.domain} is not serving your app.`),
        ...(data.reason ? [paragraph(`What went wrong: ${data.reason}.`)] : []),
        paragraph(
          'Check its DNS records on the instance\'s page (a TXT record proves it is yours, a CNAME points it at your app), then press "Check now".',
        ),
        domainsPage(data, link),
      ],
    }),
  },
} satisfies TemplateMap;
