import { describe, expect, it } from "vitest";
import { formatSize } from "../src/templates/backup";
import { linkBuilder } from "../src/templates/format";
import { templates } from "../src/templates/index";
import { renderEmail } from "../src/templates/render";
import { sampleData } from "./support/events";

const USER_ID = "00000000-0000-4000-8000-000000000001";
const link = linkBuilder("https://app.example.com");
const user = { name: "Ada", email: "ada@example.com" };

describe("backup emails", () => {
  it("announces the purge date in the expiry email (not 'for a while')", () => {
    const data = sampleData["subscription.expired"]!(USER_ID);
    const email = renderEmail(
      templates["subscription.expired"]!.render({ data, user, link }),
      user,
    );
    expect(email.text).toContain("kept until 31 March 2026");
    expect(email.text).not.toContain("for a while");
    expect(email.text).toMatch(/newest backup/);
  });

  it("says 'data purged' with the date when the last backup is gone", () => {
    const data = sampleData["backup.purged"]!(USER_ID);
    const email = renderEmail(templates["backup.purged"]!.render({ data, user, link }), user);
    expect(email.subject).toBe("The data of your Nextcloud instance was deleted");
    expect(email.text).toContain("30 April 2026");
  });

  it("mails a ready backup only when the customer asked for it, with its size", () => {
    const template = templates["backup.succeeded"]!;
    const onDemand = sampleData["backup.succeeded"]!(USER_ID);
    expect(template.when?.(onDemand)).toBe(true);
    expect(template.when?.({ ...onDemand, kind: "SCHEDULED" })).toBe(false);
    const email = renderEmail(template.render({ data: onDemand, user, link }), user);
    expect(email.text).toContain("1.5 GiB");
  });

  it("tells the customer a failed restore changed nothing", () => {
    const data = sampleData["backup.restore_failed"]!(USER_ID);
    const email = renderEmail(
      templates["backup.restore_failed"]!.render({ data, user, link }),
      user,
    );
    expect(email.text).toMatch(/Nothing was changed/);
    expect(email.text).toContain("refused the restored volume");
  });

  it("does not promise untouched data for a restore into a new instance that failed", () => {
    const data = {
      ...sampleData["backup.restore_failed"]!(USER_ID),
      target: "NEW_INSTANCE" as const,
      targetInstanceId: "7d6c0d59-0b1c-4c59-9d5e-0f3a3b8f6a11",
      reason: "The new instance did not start: quota exceeded.",
    };
    const email = renderEmail(
      templates["backup.restore_failed"]!.render({ data, user, link }),
      user,
    );
    expect(email.text).not.toMatch(/Nothing was changed/);
    expect(email.text).toMatch(/The backup itself is kept/);
    expect(email.text).toContain("quota exceeded");
  });

  it("prints sizes in binary units", () => {
    expect(formatSize(512)).toBe("512 bytes");
    expect(formatSize(320 * 1024 * 1024)).toBe("320 MiB");
    expect(formatSize(2 ** 30)).toBe("1.0 GiB");
  });
});
