import { baseEnvEntries, envField } from "@minispod/shared";
// The file, not the folder: nodemailer has no exports map and Node ESM will not import a directory.
import addressparser from "nodemailer/lib/addressparser/index.js";
import * as v from "valibot";

export const DEFAULT_FROM = "minispod <no-reply@minispod.local>";

/** True when `text` is exactly one mailbox like `Name <a@b.c>` or `a@b.c`. */
function isOneAddress(text: string): boolean {
  const parsed = addressparser(text, { flatten: true });
  return parsed.length === 1 && /^[^@\s]+@[^@\s]+$/.test(parsed[0]?.address ?? "");
}

const entries = {
  ...baseEnvEntries,
  /** Unset: messages go to the dev mailbox (local mode only). */
  SMTP_HOST: v.optional(v.pipe(v.string(), v.trim(), v.nonEmpty())),
  SMTP_PORT: envField.port(587),
  /** true for implicit TLS (port 465); false upgrades with STARTTLS when the server offers it. */
  SMTP_SECURE: envField.bool(false),
  SMTP_USER: v.optional(v.string()),
  SMTP_PASS: v.optional(v.string()),
  SMTP_FROM: v.optional(
    v.pipe(
      v.string(),
      v.check(isOneAddress, 'must be one address, e.g. "minispod <no-reply@example.com>"'),
    ),
    DEFAULT_FROM,
  ),
  /** Where the dev mailbox keeps one JSON file per message. */
  DEV_MAILBOX_DIR: v.optional(v.string(), ".data/mailbox"),
};

const schema = v.pipe(
  v.object(entries),
  // The dev mailbox would silently swallow customer mail in a real deployment.
  v.forward(
    v.partialCheck(
      [["NODE_ENV"], ["SMTP_HOST"]],
      (env) => env.NODE_ENV !== "production" || env.SMTP_HOST !== undefined,
      "is required when NODE_ENV=production (without it mail would only reach the local dev mailbox)",
    ),
    ["SMTP_HOST"],
  ),
  v.forward(
    v.partialCheck(
      [["SMTP_USER"], ["SMTP_PASS"]],
      (env) => (env.SMTP_USER === undefined) === (env.SMTP_PASS === undefined),
      "SMTP_USER and SMTP_PASS must be set together",
    ),
    ["SMTP_PASS"],
  ),
);

/**
 * The notifier's environment. A pipe (for the cross-variable checks) keeps
 * `entries` alongside, because `parseEnv` reads it to pick the variables.
 */
export const notifierEnvSchema = Object.assign(schema, { entries });
export type NotifierEnv = v.InferOutput<typeof schema>;
