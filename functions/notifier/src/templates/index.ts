import { backupTemplates } from "./backup";
import { domainTemplates } from "./domain";
import { instanceTemplates } from "./instance";
import { paymentTemplates } from "./payment";
import { subscriptionTemplates } from "./subscription";
import type { TemplateMap } from "./types";
import { userTemplates } from "./user";
import { webhookTemplates } from "./webhook";

export { linkBuilder } from "./format";
export { renderEmail } from "./render";
export type { EmailTemplate, Recipient, TemplateMap } from "./types";

/**
 * Every email the notifier sends, by event type. Emailing about a new event
 * type is one entry here (and its Trigger, if no existing filter covers it).
 */
export const templates: TemplateMap = {
  ...userTemplates,
  ...subscriptionTemplates,
  ...paymentTemplates,
  ...instanceTemplates,
  ...webhookTemplates,
  ...domainTemplates,
  ...backupTemplates,
};
