import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Mailer, MailMessage } from "./mailer";

export interface StoredMail extends Required<MailMessage> {
  id: string;
  messageId: string;
  from: string;
  /** ISO time the message was stored. */
  date: string;
}

export interface MailSummary {
  id: string;
  to: string;
  subject: string;
  date: string;
}

export interface DevMailbox extends Mailer {
  readonly dir: string;
  list(): Promise<MailSummary[]>;
  get(id: string): Promise<StoredMail | undefined>;
  clear(): Promise<void>;
}

const ID = /^\d{13}-[0-9a-f]{8}$/;
const FILE = /^(\d{13}-[0-9a-f]{8})\.json$/;

/**
 * The local stand-in for SMTP: one JSON file per message under `dir`, so
 * mail survives restarts and any process (the runner, a test, `cat`) can read it.
 *
 * @example
 * const mailbox = devMailbox(".data/mailbox", "minispod <no-reply@minispod.local>");
 * await mailbox.send({ to: "ada@example.com", subject: "Hi", text: "Hi", html: "<p>Hi</p>" });
 */
export function devMailbox(dir: string, from: string): DevMailbox {
  const root = resolve(dir);
  const pathOf = (id: string) => join(root, `${id}.json`);

  async function get(id: string): Promise<StoredMail | undefined> {
    // The id reaches the file system; anything but our own format could walk out of `root`.
    if (!ID.test(id)) return undefined;
    try {
      return JSON.parse(await readFile(pathOf(id), "utf8")) as StoredMail;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  return {
    dir: root,
    async send(message) {
      const now = new Date();
      // Time first, so names sort by arrival; random tail keeps them unique.
      const id = `${String(now.getTime()).padStart(13, "0")}-${randomBytes(4).toString("hex")}`;
      const headers = message.headers ?? {};
      const messageId = headers["Message-ID"] ?? `<${id}@dev-mailbox>`;
      const stored: StoredMail = {
        id,
        messageId,
        from,
        date: now.toISOString(),
        ...message,
        headers,
      };
      await mkdir(root, { recursive: true });
      // Write then rename: a reader never sees half a file.
      const temp = join(root, `.${id}.tmp`);
      await writeFile(temp, JSON.stringify(stored, null, 2));
      await rename(temp, pathOf(id));
      return { messageId };
    },
    async close() {},
    async list() {
      const names = await readdir(root).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return [] as string[];
        throw error;
      });
      const ids = names
        .flatMap((name) => FILE.exec(name)?.[1] ?? [])
        .sort((a, b) => b.localeCompare(a));
      const mails = await Promise.all(ids.map(get));
      return mails.flatMap((m) =>
        m ? [{ id: m.id, to: m.to, subject: m.subject, date: m.date }] : [],
      );
    },
    get,
    async clear() {
      const names = await readdir(root).catch(() => [] as string[]);
      await Promise.all(
        names.filter((n) => FILE.test(n)).map((n) => rm(join(root, n), { force: true })),
      );
    },
  };
}
