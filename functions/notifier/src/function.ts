import type { FunctionDefinition } from "@minispod/shared";
import { createApp } from "./app";
import { type NotifierEnv, notifierEnvSchema } from "./env";
import { devMailbox } from "./mail/dev-mailbox";
import type { Mailer } from "./mail/mailer";
import { smtpMailer } from "./mail/smtp";
import { mailboxRoutes } from "./routes/mailbox";

/** SMTP when configured; otherwise the dev mailbox (env.ts forbids that in production). */
export function mailerFromEnv(env: NotifierEnv): Mailer {
  if (!env.SMTP_HOST) return devMailbox(env.DEV_MAILBOX_DIR, env.SMTP_FROM);
  return smtpMailer({
    host: env.SMTP_HOST,
    port: env.SMTP_PORT,
    secure: env.SMTP_SECURE,
    user: env.SMTP_USER,
    pass: env.SMTP_PASS,
    from: env.SMTP_FROM,
  });
}

/** notifier: every customer email, one per event, from the templates in src/templates. */
export const notifierFunction: FunctionDefinition<NotifierEnv> = {
  name: "notifier",
  routes: [],
  envSchema: notifierEnvSchema,
  create(ctx) {
    const mailer = mailerFromEnv(ctx.env);
    // The SMTP pool closes at shutdown, after in-flight sends finish.
    ctx.onClose(() => mailer.close());
    if (!ctx.env.SMTP_HOST) {
      ctx.logger.warn(
        { dir: ctx.env.DEV_MAILBOX_DIR },
        "no SMTP_HOST: email goes to the dev mailbox",
      );
    }
    return createApp({ ...ctx, mailer });
  },
  devRoutes(ctx) {
    const env = ctx.env;
    return mailboxRoutes(
      env.SMTP_HOST ? undefined : devMailbox(env.DEV_MAILBOX_DIR, env.SMTP_FROM),
    );
  },
};
