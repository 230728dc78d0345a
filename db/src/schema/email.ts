import { index, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt, logId, ts } from "./_common";
import { users } from "./users";

/** Every email the notifier sent (or failed to send); one per event and template. */
export const emailMessages = pgTable(
  "email_messages",
  {
    id: logId(),
    userId: uuid("user_id").references(() => users.id, { onDelete: "set null" }),
    eventId: text("event_id").notNull(),
    template: text("template").notNull(),
    to: text("to").notNull(),
    subject: text("subject").notNull(),
    status: text("status").notNull(),
    providerMessageId: text("provider_message_id"),
    error: text("error"),
    createdAt: createdAt(),
    sentAt: ts("sent_at"),
  },
  (t) => [
    uniqueIndex("email_messages_event_template_uq").on(t.eventId, t.template),
    index("email_messages_user_idx").on(t.userId, t.createdAt),
  ],
);
