// The file, not the folder: nodemailer has no exports map and Node ESM will not import a directory.
import addressparser from "nodemailer/lib/addressparser/index.js";

/** The domain of the sender address, e.g. "minispod.local" for "minispod <no-reply@minispod.local>". */
export function senderDomain(from: string): string {
  const address = addressparser(from, { flatten: true })[0]?.address ?? "";
  return address.split("@")[1] || "minispod.local";
}

const UNSAFE = /[^A-Za-z0-9.-]/g;

/**
 * Headers of a notification. The Message-ID is derived from (event, template):
 * if a send succeeds but our commit fails, the retry carries the same id and
 * mail clients show one message, not two.
 */
export function notificationHeaders(input: {
  eventId: string;
  template: string;
  domain: string;
  /** W3C trace id of the customer action that caused the email. */
  traceId?: string | undefined;
}): Record<string, string> {
  const eventId = input.eventId.replace(UNSAFE, "-");
  return {
    "Message-ID": `<${eventId}.${input.template}@${input.domain}>`,
    // RFC 3834: tells vacation responders and ticket systems not to answer.
    "Auto-Submitted": "auto-generated",
    "X-Minispod-Event-Id": eventId,
    "X-Minispod-Template": input.template,
    ...(input.traceId ? { "X-Minispod-Trace-Id": input.traceId } : {}),
  };
}
