/** One outgoing email. `from` is the mailer's own (SMTP_FROM). */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  headers?: Record<string, string>;
}

export interface SentMail {
  messageId: string;
}

/**
 * Where email goes: SMTP in a deployment, the dev mailbox in local mode.
 * `send` resolves once the message is accepted and rejects with
 * `MailSendError` otherwise, so the caller can roll back and retry.
 *
 * @example
 * const { messageId } = await mailer.send({ to, subject, text, html });
 */
export interface Mailer {
  send(message: MailMessage): Promise<SentMail>;
  /** Releases pooled connections (no-op where there are none). */
  close(): Promise<void>;
}

/**
 * A message was not accepted. Carries only the SMTP code and reply, never the
 * transport's own error object (which can hold the conversation, credentials included).
 */
export class MailSendError extends Error {
  override name = "MailSendError";
  constructor(
    message: string,
    readonly responseCode?: number,
  ) {
    super(message);
  }
}
