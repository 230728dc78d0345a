import type { EventData } from "@minispod/shared";
import { action, paragraph } from "./render";
import type { TemplateMap } from "./types";

type InstanceData = EventData<"instance.running">;

/** The provisioner may add `serviceName`; until then the emails say "your app". */
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
} satisfies TemplateMap;
