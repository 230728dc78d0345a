import type { FunctionContext } from "@minispod/shared";
import type { NotifierEnv } from "./env";
import type { Mailer } from "./mail/mailer";
import type { TemplateMap } from "./templates/index";

/** What the function is built from: `main.ts` makes it once, tests make their own. */
export interface NotifierDeps extends FunctionContext<NotifierEnv> {
  mailer: Mailer;
  /** Defaults to every template the notifier has. */
  templates?: TemplateMap;
}
