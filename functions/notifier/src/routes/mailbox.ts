import { type AppEnv, AppError } from "@minispod/shared";
import { Hono } from "hono";
import type { DevMailbox } from "../mail/dev-mailbox";

// Our own escaped templates, but still mail: no scripts, no remote loads, no framing tricks.
const HTML_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'";

/**
 * Local-mode routes over the dev mailbox, mounted by the runner under
 * `/_dev/notifier`, so they read `/_dev/notifier/mailbox[/:id[/html]]`.
 * Without a mailbox (SMTP_HOST set) they say where the mail went instead.
 */
export function mailboxRoutes(mailbox: DevMailbox | undefined) {
  const app = new Hono<AppEnv>();
  app.use("/mailbox/*", async (_c, next) => {
    if (!mailbox) {
      throw new AppError("NOT_FOUND", {
        detail: "The dev mailbox is off: SMTP_HOST is set, so mail goes to that server.",
      });
    }
    await next();
  });
  const box = () => mailbox as DevMailbox;
  const found = async (id: string) => {
    const mail = await box().get(id);
    if (!mail) throw new AppError("NOT_FOUND", { detail: `No message ${id} in the dev mailbox.` });
    return mail;
  };

  app.get("/mailbox", async (c) => c.json({ items: await box().list() }));
  app.delete("/mailbox", async (c) => {
    await box().clear();
    return c.body(null, 204);
  });
  app.get("/mailbox/:id", async (c) => c.json(await found(c.req.param("id"))));
  app.get("/mailbox/:id/html", async (c) => {
    const mail = await found(c.req.param("id"));
    c.header("content-security-policy", HTML_CSP);
    return c.html(mail.html);
  });
  return app;
}
