import nodemailer from "nodemailer";
import { type Mailer, MailSendError } from "./mailer";

export interface SmtpOptions {
  host: string;
  port: number;
  secure: boolean;
  user?: string | undefined;
  pass?: string | undefined;
  from: string;
}

/**
 * Nodemailer over a pooled SMTP transport: connections are reused across
 * events instead of a TCP + TLS handshake per email.
 */
export function smtpMailer(options: SmtpOptions): Mailer {
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: 3,
    host: options.host,
    port: options.port,
    secure: options.secure,
    ...(options.user ? { auth: { user: options.user, pass: options.pass ?? "" } } : {}),
    // Sending happens inside a database transaction and a broker delivery with
    // its own deadline; nodemailer's defaults (minutes) would outlive both.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    async send(message) {
      let info: { messageId: string; rejected: unknown[] };
      try {
        info = await transport.sendMail({ from: options.from, ...message });
      } catch (error) {
        throw asMailSendError(error);
      }
      if (info.rejected.length > 0)
        throw new MailSendError("the SMTP server rejected the recipient");
      return { messageId: info.messageId };
    },
    async close() {
      transport.close();
    },
  };
}

function asMailSendError(error: unknown): MailSendError {
  const e = error as {
    code?: unknown;
    responseCode?: unknown;
    response?: unknown;
    message?: unknown;
  };
  const code = typeof e.responseCode === "number" ? e.responseCode : undefined;
  const reply = typeof e.response === "string" ? e.response.slice(0, 200) : undefined;
  const kind = typeof e.code === "string" ? e.code : "ESEND";
  // The SMTP reply says why; nodemailer's message alone is often just "Message failed".
  const detail =
    reply ?? (typeof e.message === "string" ? e.message.slice(0, 200) : "unknown error");
  return new MailSendError(`SMTP send failed (${kind}${code ? ` ${code}` : ""}): ${detail}`, code);
}
