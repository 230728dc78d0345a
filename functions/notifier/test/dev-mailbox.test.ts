import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AppEnv } from "@minispod/shared";
import { baseApp, EnvError, parseEnv } from "@minispod/shared";
import { createHarness, type Harness, type TestUser } from "@minispod/shared/testing";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { notifierFunction } from "../src/function";
import type { MailSummary, StoredMail } from "../src/mail/dev-mailbox";
import { APP_URL, cloudEvent, deliver, ENCODED_TOKEN, sampleData } from "./support/events";

let h: Harness;
let dir: string;
let user: TestUser;
/** The function as deployed, plus its dev routes mounted where the local runner puts them. */
let app: Hono<AppEnv>;

function withDevRoutes(overrides: Record<string, string>) {
  const ctx = h.context(notifierFunction, overrides);
  const host = baseApp(ctx);
  host.route("/_dev/notifier", notifierFunction.devRoutes!(ctx));
  return host;
}

beforeAll(async () => {
  h = await createHarness();
  dir = await mkdtemp(join(tmpdir(), "notifier-mailbox-"));
  user = await h.user();
  // No SMTP_HOST: local mode.
  app = await h.app(notifierFunction, { DEV_MAILBOX_DIR: dir, APP_URL });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await h?.close();
});

const list = async (host: Hono<AppEnv>) =>
  ((await (await host.request("/_dev/notifier/mailbox")).json()) as { items: MailSummary[] }).items;

describe("dev mailbox (no SMTP_HOST)", () => {
  it("stores each email as a file other processes can read, listed newest first", async () => {
    const routes = withDevRoutes({ DEV_MAILBOX_DIR: dir });
    await routes.request("/_dev/notifier/mailbox", { method: "DELETE" });

    const registered = cloudEvent("user.registered", sampleData["user.registered"]!(user.id));
    const changed = cloudEvent(
      "user.password_changed",
      sampleData["user.password_changed"]!(user.id),
    );
    expect((await deliver(app, registered)).status).toBe(200);
    expect((await deliver(app, changed)).status).toBe(200);

    expect((await readdir(dir)).filter((f) => f.endsWith(".json"))).toHaveLength(2);
    // A separate mailbox instance over the same folder: what a restarted runner would see.
    const items = await list(routes);
    expect(items).toEqual([
      {
        id: expect.any(String),
        to: user.email,
        subject: "Your minispod password was changed",
        date: expect.any(String),
      },
      {
        id: expect.any(String),
        to: user.email,
        subject: expect.stringMatching(/^Welcome/),
        date: expect.any(String),
      },
    ]);
  });

  it("shows one message with its text and html, and renders the html", async () => {
    const routes = withDevRoutes({ DEV_MAILBOX_DIR: dir });
    const event = cloudEvent(
      "user.password_reset_requested",
      sampleData["user.password_reset_requested"]!(user.id),
    );
    await deliver(app, event);
    const [latest] = await list(routes);

    const shown = await routes.request(`/_dev/notifier/mailbox/${latest!.id}`);
    expect(shown.status).toBe(200);
    const mail = (await shown.json()) as StoredMail;
    const link = `${APP_URL}/reset-password?token=${ENCODED_TOKEN}`;
    expect(mail).toMatchObject({
      id: latest!.id,
      to: user.email,
      from: "minispod <no-reply@minispod.local>",
      subject: "Reset your minispod password",
      messageId: `<${event.id}.password-reset@minispod.local>`,
    });
    expect(mail.text).toContain(link);
    expect(mail.html).toContain(`href="${link}"`);

    const rendered = await routes.request(`/_dev/notifier/mailbox/${latest!.id}/html`);
    expect(rendered.status).toBe(200);
    expect(rendered.headers.get("content-type")).toContain("text/html");
    expect(rendered.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(await rendered.text()).toBe(mail.html);
  });

  it("answers 404 for an unknown id or one that tries to leave the folder", async () => {
    const routes = withDevRoutes({ DEV_MAILBOX_DIR: dir });
    expect((await routes.request("/_dev/notifier/mailbox/0000000000000-deadbeef")).status).toBe(
      404,
    );
    expect((await routes.request("/_dev/notifier/mailbox/..%2F..%2Fetc%2Fpasswd")).status).toBe(
      404,
    );
  });

  it("clears the mailbox", async () => {
    const routes = withDevRoutes({ DEV_MAILBOX_DIR: dir });
    expect(await list(routes)).not.toHaveLength(0);
    expect((await routes.request("/_dev/notifier/mailbox", { method: "DELETE" })).status).toBe(204);
    expect(await list(routes)).toEqual([]);
  });

  it("lists an empty mailbox before anything was sent", async () => {
    const routes = withDevRoutes({ DEV_MAILBOX_DIR: join(dir, "never-created") });
    expect(await list(routes)).toEqual([]);
  });

  it("says where the mail went when SMTP_HOST is set", async () => {
    const routes = withDevRoutes({ SMTP_HOST: "smtp.example.com" });
    const res = await routes.request("/_dev/notifier/mailbox");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/SMTP_HOST is set/);
  });
});

describe("environment", () => {
  const base = { NODE_ENV: "production", DATABASE_URL: "postgres://db/minispod" };
  const parse = (env: Record<string, string>) => parseEnv(notifierFunction.envSchema as never, env);

  it("fails fast in production without SMTP_HOST, naming the variable", () => {
    expect(() => parse(base)).toThrow(EnvError);
    expect(() => parse(base)).toThrow(/SMTP_HOST is required when NODE_ENV=production/);
  });

  it("takes the SMTP settings with their defaults", () => {
    expect(parse({ ...base, SMTP_HOST: "smtp.example.com" })).toMatchObject({
      SMTP_HOST: "smtp.example.com",
      SMTP_PORT: 587,
      SMTP_SECURE: false,
      SMTP_FROM: "minispod <no-reply@minispod.local>",
      DEV_MAILBOX_DIR: ".data/mailbox",
    });
  });

  it("rejects a user without a password and a malformed sender", () => {
    const smtp = { ...base, SMTP_HOST: "smtp.example.com" };
    expect(() => parse({ ...smtp, SMTP_USER: "mailer" })).toThrow(/SMTP_PASS/);
    expect(() => parse({ ...smtp, SMTP_FROM: "not an address" })).toThrow(/SMTP_FROM/);
    expect(() => parse({ ...smtp, SMTP_SECURE: "maybe" })).toThrow(/SMTP_SECURE/);
  });
});
