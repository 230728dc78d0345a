import type { EventData } from "@minispod/shared";
import { action, paragraph } from "./render";
import type { TemplateMap } from "./types";

type InstanceData = EventData<"instance.running">;

/** The app's catalog name; events written before it was carried say "your app". */
const appName = (data: InstanceData) =>
  typeof data.serviceName === "string" && data.serviceName.trim()
    ? data.serviceName.trim()
    : undefined;

const manage = (data: InstanceData, link: (path: string) => string) =>
  action("Manage instance", link(`/instances/${encodeURIComponent(data.instanceId)}`));

export const instanceTemplates = {
  "instance.running": {
    name: "instance-running",
    render: ({ data, link }) => {
      const name = appName(data);
      return {
        subject: name ? `${name} is up and running` : "Your app is up and running",
        blocks: [
          paragraph(`Good news: your ${name ?? "app"} instance is running.`),
          ...(data.url ? [action("Open your app", data.url)] : []),
          ...(data.credentials?.length
            ? [
                paragraph(
                  `Its ${data.credentials.join(", ")} ${data.credentials.length > 1 ? "are" : "is"} on the instance's page under "Credentials" (never sent by email); you can rotate ${data.credentials.length > 1 ? "them" : "it"} there.`,
                ),
              ]
            : []),
          manage(data, link),
        ],
      };
    },
  },
  "instance.failed": {
    name: "instance-failed",
    render: ({ data, link }) => {
      const name = appName(data);
      return {
        subject: name ? `${name} could not be started` : "Your app could not be started",
        blocks: [
          paragraph(`Your ${name ?? "app"} instance ran into a problem and is not running.`),
          ...(data.message ? [paragraph(`What went wrong: ${data.message}`)] : []),
          paragraph(
            "You can try a restart from your dashboard. If it keeps failing, contact our support.",
          ),
          manage(data, link),
        ],
      };
    },
  },
  "instance.credentials_rotated": {
    name: "instance-credentials-rotated",
    render: ({ data, link }) => ({
      subject: `A credential of your ${data.serviceName} instance was changed`,
      blocks: [
        paragraph(
          `${data.name} of your ${data.serviceName} instance was replaced by a new value; the old one stops working once the app has restarted, in a minute or so.`,
        ),
        paragraph("If you did not ask for this, change your password and contact our support."),
        action(
          "See the new value",
          link(`/instances/${encodeURIComponent(data.instanceId)}/credentials`),
        ),
      ],
    }),
  },
} satisfies TemplateMap;
