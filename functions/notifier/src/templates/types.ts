import type { EventData, EventType } from "@minispod/shared";
import type { LinkBuilder } from "./format";
import type { EmailContent } from "./render";

/** The user an email goes to, as stored now (not as the event saw them). */
export interface Recipient {
  name: string;
  email: string;
  /** False while the address is unconfirmed: some emails then remind them to confirm it. */
  emailVerified?: boolean;
}

export interface TemplateInput<T extends EventType> {
  data: EventData<T>;
  user: Recipient;
  link: LinkBuilder;
}

export interface EmailTemplate<T extends EventType> {
  /** Stable name, recorded per sent email with the event id (UNIQUE together). */
  name: string;
  render(input: TemplateInput<T>): EmailContent;
  /** When present and false for an event, no email is sent for it (e.g. routine scheduled backups). */
  when?: (data: EventData<T>) => boolean;
}

/** Event type -> its template. A type without an entry sends no email. */
export type TemplateMap = { [T in EventType]?: EmailTemplate<T> };
