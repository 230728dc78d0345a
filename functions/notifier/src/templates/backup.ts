import type { EventData } from "@minispod/shared";
import { formatDate, formatDateTime } from "./format";
import { action, facts, note, paragraph } from "./render";
import type { TemplateMap } from "./types";

type BackupData = EventData<"backup.succeeded">;
type RestoreData = EventData<"backup.restored">;

const appOf = (data: { serviceName?: string | undefined }) => data.serviceName?.trim() || "app";

const backupsPage = (instanceId: string, link: (path: string) => string) =>
  action("See backups", link(`/instances/${encodeURIComponent(instanceId)}`));

/** "1.5 GiB", "320 MiB": what a customer reads for a snapshot's size. */
export function formatSize(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let n = bytes;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} bytes` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[unit]}`;
}

export const backupTemplates = {
  "backup.succeeded": {
    name: "backup-succeeded",
    // Scheduled backups succeed every day: only the one the customer asked for is worth an email.
    when: (data: BackupData) => data.kind === "ON_DEMAND",
    render: ({ data, link }) => ({
      subject: `Your ${appOf(data)} backup is ready`,
      blocks: [
        paragraph(`The backup of your ${appOf(data)} instance you asked for is ready.`),
        ...(typeof data.sizeBytes === "number"
          ? [facts(["Size", formatSize(data.sizeBytes)])]
          : []),
        paragraph("You can restore it into this instance or into a new one from its page."),
        backupsPage(data.instanceId, link),
      ],
    }),
  },
  "backup.failed": {
    name: "backup-failed",
    render: ({ data, link }) => ({
      subject: `A backup of your ${appOf(data)} instance failed`,
      blocks: [
        paragraph(
          data.kind === "PRE_RESTORE"
            ? `The copy of your ${appOf(data)} instance's data from before your restore could not be taken.`
            : `A ${data.kind === "SCHEDULED" ? "scheduled" : "requested"} backup of your ${appOf(data)} instance could not be taken.`,
        ),
        ...(data.reason ? [facts(["Reason", data.reason])] : []),
        paragraph(
          data.kind === "PRE_RESTORE"
            ? "That data stays on its own volume meanwhile, and earlier backups are kept; delete the failed copy from the backups list to let that volume go."
            : "Your app and its data are untouched, and earlier backups are kept.",
        ),
        backupsPage(data.instanceId, link),
      ],
    }),
  },
  "backup.restored": {
    name: "backup-restored",
    render: ({ data, link }: { data: RestoreData; link: (path: string) => string }) => ({
      subject: `Your ${appOf(data)} backup was restored`,
      blocks: [
        paragraph(
          data.target === "SAME_INSTANCE"
            ? `Your ${appOf(data)} instance now runs on the data of the backup you chose; it is starting again. The data it had before is kept as a backup ("before a restore") once it runs, so you can go back to it.`
            : `The backup you chose was restored into your new ${appOf(data)} instance, which now runs with that data.`,
        ),
        action(
          "Open the instance",
          link(`/instances/${encodeURIComponent(data.targetInstanceId)}`),
        ),
      ],
    }),
  },
  "backup.restore_failed": {
    name: "backup-restore-failed",
    render: ({ data, link }) => ({
      subject: `Restoring your ${appOf(data)} backup failed`,
      blocks: [
        paragraph(
          data.target === "SAME_INSTANCE"
            ? `The backup could not be restored. Nothing was changed: your ${appOf(data)} instance kept its data.`
            : // A new instance may have had no data of its own to keep (a subscription from a backup).
              `The backup could not be restored into your other ${appOf(data)} instance; the reason is below. The backup itself is kept, so you can try again.`,
        ),
        ...(data.reason ? [facts(["Reason", data.reason])] : []),
        action(
          "Open the instance",
          link(`/instances/${encodeURIComponent(data.targetInstanceId)}`),
        ),
      ],
    }),
  },
  "backup.purged": {
    name: "backup-purged",
    render: ({ data, link }) => ({
      subject: `The data of your ${appOf(data)} instance was deleted`,
      blocks: [
        paragraph(
          `As announced, the last backup of your former ${appOf(data)} instance was deleted on ${formatDate(data.purgedAt)}. No copy of its data is left with us.`,
        ),
        action("Your apps", link("/dashboard")),
        note(`Deleted at ${formatDateTime(data.purgedAt)}.`),
      ],
    }),
  },
} satisfies TemplateMap;
