import type { AddressInfo } from "node:net";
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface TestSmtp {
  port: number;
  /** Every message accepted, parsed, in arrival order. */
  messages: ParsedMail[];
  /** While set, RCPT TO is refused with this SMTP code (e.g. 550 or 451). */
  rejectWith: number | undefined;
  /** Credentials seen on AUTH, when the client authenticated. */
  logins: Array<{ username: string; password: string }>;
  close(): Promise<void>;
}

/**
 * A real SMTP server on a free loopback port. Messages are parsed before the
 * server answers 250, so once `sendMail` resolves the message is in `messages`.
 */
export async function startSmtp(
  options: { auth?: { user: string; pass: string } } = {},
): Promise<TestSmtp> {
  const state: Omit<TestSmtp, "port" | "close"> = {
    messages: [],
    rejectWith: undefined,
    logins: [],
  };
  const server = new SMTPServer({
    logger: false,
    // Plain SMTP on loopback: no certificates to manage in tests.
    disabledCommands: options.auth ? ["STARTTLS"] : ["STARTTLS", "AUTH"],
    authOptional: !options.auth,
    allowInsecureAuth: true,
    closeTimeout: 50,
    onAuth(auth, _session, callback) {
      const ok = auth.username === options.auth?.user && auth.password === options.auth?.pass;
      state.logins.push({ username: auth.username ?? "", password: auth.password ?? "" });
      if (!ok) return callback(new Error("Invalid username or password"));
      callback(null, { user: auth.username });
    },
    onRcptTo(_address, _session, callback) {
      if (state.rejectWith) {
        return callback(
          Object.assign(new Error("Mailbox unavailable"), { responseCode: state.rejectWith }),
        );
      }
      callback();
    },
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (mail) => {
          state.messages.push(mail);
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  return Object.assign(state, {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
