import { emailMessages, users } from "@minispod/db";
import {
  currentTrace,
  type EventContext,
  type EventHandlers,
  type EventType,
  type Logger,
  PermanentEventError,
} from "@minispod/shared";
import { eq } from "drizzle-orm";
import { notificationHeaders } from "../mail/headers";
import type { Mailer } from "../mail/mailer";
import type { LinkBuilder } from "../templates/format";
import { renderEmail } from "../templates/render";
import type { EmailTemplate, TemplateMap } from "../templates/types";

export interface NotifyDeps {
  mailer: Mailer;
  templates: TemplateMap;
  link: LinkBuilder;
  /** Domain for Message-IDs (the sender's). */
  domain: string;
  logger: Logger;
  now: () => Date;
}

export type NotifyOutcome = "sent" | "skipped" | "duplicate";

/** Values of `email_messages.status`. "sending" never commits: the row becomes "sent" or rolls back. */
export const EMAIL_STATUS = { sending: "sending", sent: "sent", skipped: "skipped" } as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Sends the email for one event inside the consumer's transaction. The
 * `email_messages` row is claimed before sending, so a concurrent duplicate
 * waits on the UNIQUE (event_id, template) and then finds it taken; a failed
 * send throws and takes the row (and the processed-event mark) with it.
 */
export async function sendEventEmail<T extends EventType>(
  deps: NotifyDeps,
  ctx: EventContext<T>,
  template: EmailTemplate<T>,
): Promise<NotifyOutcome> {
  const { tx, event, data } = ctx;
  // users.id is a uuid column: anything else would fail in PostgreSQL and be retried forever.
  if (!UUID.test(data.userId))
    throw new PermanentEventError(`userId of ${event.type} is not a UUID`);
  const [user] = await tx
    .select({
      id: users.id,
      email: users.email,
      name: users.name,
      disabledAt: users.disabledAt,
      emailVerifiedAt: users.emailVerifiedAt,
    })
    .from(users)
    .where(eq(users.id, data.userId));
  const key = { eventId: event.id, template: template.name };

  if (!user) {
    await tx
      .insert(emailMessages)
      .values({
        ...key,
        to: "",
        subject: "",
        status: EMAIL_STATUS.skipped,
        error: "user not found",
      })
      .onConflictDoNothing();
    return "skipped";
  }
  const recipient = {
    name: user.name,
    email: user.email,
    emailVerified: user.emailVerifiedAt !== null,
  };
  const email = renderEmail(template.render({ data, user: recipient, link: deps.link }), user);
  const row = { ...key, userId: user.id, to: user.email, subject: email.subject };

  if (user.disabledAt) {
    await tx
      .insert(emailMessages)
      .values({ ...row, status: EMAIL_STATUS.skipped, error: "user disabled" })
      .onConflictDoNothing();
    return "skipped";
  }

  const [claimed] = await tx
    .insert(emailMessages)
    .values({ ...row, status: EMAIL_STATUS.sending })
    .onConflictDoNothing()
    .returning({ id: emailMessages.id });
  // Same event id from another source already has its email.
  if (!claimed) return "duplicate";

  const { messageId } = await deps.mailer.send({
    to: user.email,
    subject: email.subject,
    text: email.text,
    html: email.html,
    headers: notificationHeaders({ ...key, domain: deps.domain, traceId: currentTrace()?.traceId }),
  });
  await tx
    .update(emailMessages)
    .set({ status: EMAIL_STATUS.sent, providerMessageId: messageId, sentAt: deps.now() })
    .where(eq(emailMessages.id, claimed.id));
  return "sent";
}

/** One handler per templated event type; `eventRoutes` ignores (2xx) every other type. */
export function notificationHandlers(deps: NotifyDeps): EventHandlers {
  const handlers: Partial<Record<EventType, (ctx: EventContext<EventType>) => Promise<void>>> = {};
  for (const type of Object.keys(deps.templates) as EventType[]) {
    // Widened on purpose: the consumer only calls this handler with data
    // already validated against the schema of `type`, the template's own type.
    const template = deps.templates[type] as EmailTemplate<EventType> | undefined;
    if (!template) continue;
    handlers[type] = async (ctx) => {
      if (template.when && !template.when(ctx.data)) return;
      const outcome = await sendEventEmail(deps, ctx, template);
      // Ids only: event data holds tokens and addresses.
      deps.logger.info(
        {
          eventId: ctx.event.id,
          template: template.name,
          userId: ctx.data.userId,
          outcome,
          traceId: currentTrace()?.traceId,
        },
        "notification handled",
      );
    };
  }
  return handlers as EventHandlers;
}
