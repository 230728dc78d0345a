import { formatDateTime } from "./format";
import { action, note, paragraph } from "./render";
import type { TemplateMap } from "./types";

// Paths of the web app's pages; the token travels in the query string.
const VERIFY_EMAIL = "/verify-email";
const RESET_PASSWORD = "/reset-password";
const FORGOT_PASSWORD = "/forgot-password";

export const userTemplates = {
  "user.registered": {
    name: "welcome",
    render: ({ data, link }) => ({
      subject: "Welcome to minispod - please confirm your email",
      blocks: [
        paragraph(
          "Thanks for signing up. minispod runs open-source apps for you, each at an address of its own.",
        ),
        paragraph(
          "Please confirm your email address so we can reach you about your apps and billing.",
        ),
        action("Confirm email address", link(VERIFY_EMAIL, { token: data.verificationToken })),
        note(
          `This link works until ${formatDateTime(data.verificationExpiresAt)}. If you did not create a minispod account, you can ignore this email.`,
        ),
      ],
    }),
  },
  "user.email_verification_requested": {
    name: "verify-email",
    render: ({ data, link }) => ({
      subject: "Confirm your email address",
      blocks: [
        paragraph(`Please confirm that ${data.email} is your email address.`),
        action("Confirm email address", link(VERIFY_EMAIL, { token: data.token })),
        note(
          `This link works until ${formatDateTime(data.expiresAt)}. If you did not ask for it, you can ignore this email.`,
        ),
      ],
    }),
  },
  "user.password_reset_requested": {
    name: "password-reset",
    render: ({ data, link }) => ({
      subject: "Reset your minispod password",
      blocks: [
        paragraph("Someone asked to reset the password of your minispod account."),
        action("Choose a new password", link(RESET_PASSWORD, { token: data.token })),
        note(
          `This link can be used once, until ${formatDateTime(data.expiresAt)}. If you did not ask for it, ignore this email: your password stays as it is.`,
        ),
      ],
    }),
  },
  "user.password_changed": {
    name: "password-changed",
    render: ({ data, link }) => ({
      subject: "Your minispod password was changed",
      blocks: [
        paragraph(
          `The password of your account ${data.email} was just changed, and your other sessions were signed out.`,
        ),
        paragraph("If you did not do this, reset your password now and contact our support."),
        action("Reset password", link(FORGOT_PASSWORD)),
      ],
    }),
  },
} satisfies TemplateMap;
