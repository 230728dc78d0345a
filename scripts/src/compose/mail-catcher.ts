import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { type AddressObject, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

/** One caught message, in the shape Mailpit's API lists (so one journey script reads either). */
export interface CaughtMessage {
  ID: string;
  From: { Address: string; Name: string };
  To: { Address: string; Name: string }[];
  Subject: string;
  Created: string;
  Text: string;
  HTML: string;
}

const addresses = (field: AddressObject | AddressObject[] | undefined) =>
  (Array.isArray(field) ? field : field ? [field] : []).flatMap((a) =>
    a.value.map((v) => ({ Address: v.address ?? "", Name: v.name ?? "" })),
  );

/**
 * A mail catcher for the compose stack, where Mailpit's image can't be pulled:
 * accepts every message over SMTP (no auth, no TLS), keeps the newest `keep`
 * in memory, and serves them at Mailpit's `GET /api/v1/messages` and
 * `GET /api/v1/message/<ID>` (the fields minispod's journey reads).
 *
 * @example
 * const { smtp, http } = createMailCatcher();
 * smtp.listen(1025); http.listen(8025);
 */
export function createMailCatcher(options: { keep?: number } = {}): {
  smtp: SMTPServer;
  http: Server;
  messages: CaughtMessage[];
} {
  const keep = options.keep ?? 1000;
  const messages: CaughtMessage[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    logger: false,
    size: 10 * 1024 * 1024,
    async onData(stream, session, callback) {
      try {
        const mail = await simpleParser(stream);
        const envelopeTo = session.envelope.rcptTo.map((r) => ({ Address: r.address, Name: "" }));
        messages.unshift({
          ID: randomUUID(),
          From: addresses(mail.from)[0] ?? {
            Address: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            Name: "",
          },
          To: addresses(mail.to).length > 0 ? addresses(mail.to) : envelopeTo,
          Subject: mail.subject ?? "",
          Created: (mail.date ?? new Date()).toISOString(),
          Text: mail.text ?? "",
          HTML: typeof mail.html === "string" ? mail.html : "",
        });
        messages.splice(keep);
        callback();
      } catch (error) {
        callback(error instanceof Error ? error : new Error(String(error)));
      }
    },
  });
  const http = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const send = (status: number, body: unknown) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.method === "GET" && path === "/api/v1/messages") {
      const list = messages.map(({ Text: _t, HTML: _h, ...summary }) => summary);
      send(200, { total: messages.length, count: messages.length, messages: list });
    } else if (req.method === "GET" && path.startsWith("/api/v1/message/")) {
      const found = messages.find((m) => m.ID === path.slice("/api/v1/message/".length));
      if (found) send(200, found);
      else send(404, { error: "no such message" });
    } else if (req.method === "DELETE" && path === "/api/v1/messages") {
      messages.splice(0);
      send(200, { deleted: true });
    } else if (req.method === "GET" && (path === "/livez" || path === "/readyz")) {
      send(200, { status: "ok" });
    } else {
      send(404, { error: `no route for ${req.method} ${path}` });
    }
  });
  return { smtp, http, messages };
}
