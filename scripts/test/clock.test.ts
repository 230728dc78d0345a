import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { json } from "@minispod/shared/testing";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { nodeBundle } from "../bundle-options.mjs";
import { localJourney } from "./support/journey";

/**
 * Local mode's clock (`/_dev/clock`): one "now" for every hosted function,
 * moved forward on request, with the sweeps fired at the new time. A
 * subscription cancelled at period end walks through reminders, expiry
 * (instance suspended) and purge in seconds.
 */
const journey = localJourney("clock", {
  K8S_SIMULATED_DELAY_MS: "0",
  SUBSCRIPTION_RETENTION_DAYS: "30",
});
const api = journey.api;
const dev = (path: string, init?: RequestInit) => journey.runner.app.request(`/_dev${path}`, init);

async function moveClock(body: Record<string, string>) {
  const res = await dev("/clock", json(body));
  expect(res.status).toBe(200);
  return (await res.json()) as { now: string; fired: Record<string, number | undefined> };
}

describe("the local clock", () => {
  it("runs a cancelled subscription until its period ends, then suspends, then purges it", async () => {
    const reg = await api(
      "/auth/register",
      json({ email: "clock@example.com", password: "a long password", name: "Clock" }),
    );
    const auth = { authorization: `Bearer ${(await reg.json()).accessToken}` };
    const subscribe = await api(
      "/subscriptions",
      json({ serviceSlug: "uptime-kuma" }, { ...auth, "idempotency-key": "clock-1" }),
    );
    expect(subscribe.status).toBe(201);
    const sub = (await subscribe.json()) as {
      id: string;
      currentPeriodEnd: string;
      instance: { id: string };
    };
    await journey.runner.settle();
    const instance = async () =>
      (await (await api(`/instances/${sub.instance.id}`, { headers: auth })).json()) as {
        status: string;
      };
    const subscription = async () =>
      (await (await api(`/subscriptions/${sub.id}`, { headers: auth })).json()) as {
        status: string;
        purgedAt: string | null;
      };
    expect((await instance()).status).toBe("RUNNING");

    const cancel = await api(`/subscriptions/${sub.id}/cancel`, json({}, auth));
    expect(cancel.status).toBe(200);
    await journey.runner.settle();
    expect((await instance()).status).toBe("RUNNING");

    const end = new Date(sub.currentPeriodEnd);
    const at = (days: number) => new Date(end.getTime() + days * 86_400_000).toISOString();
    // Two days before the end: the 3-day reminder went out, the app still runs.
    const moved = await moveClock({ to: at(-2) });
    expect(moved.fired["expiry-sweeper-remind"] ?? moved.fired).toBeDefined();
    const clock = (await (await dev("/clock")).json()) as { now: string };
    expect(new Date(clock.now).getTime()).toBeGreaterThanOrEqual(new Date(at(-2)).getTime());
    expect((await subscription()).status).toBe("ACTIVE");
    expect((await instance()).status).toBe("RUNNING");

    // Past the end: EXPIRED, the instance suspended with its data.
    await moveClock({ to: at(0.1) });
    expect((await subscription()).status).toBe("EXPIRED");
    expect((await instance()).status).toBe("SUSPENDED");

    // Past the retention window: purged.
    await moveClock({ advance: "31d" });
    expect((await subscription()).purgedAt).not.toBeNull();
    expect((await instance()).status).toBe("DELETED");

    const mail = (await (await dev("/notifier/mailbox")).json()) as {
      items: { subject: string }[];
    };
    const subjects = mail.items.map((m) => m.subject).join("\n");
    expect(subjects).toMatch(/ends on/);
    expect(subjects).toMatch(/ends in \d+ days?/);
    expect(subjects).toMatch(/has expired/);
  });

  it("only moves forward, and refuses a body with neither or both fields", async () => {
    expect((await dev("/clock", json({ to: "2000-01-01T00:00:00.000Z" }))).status).toBe(409);
    expect((await dev("/clock", json({}))).status).toBe(400);
    expect(
      (await dev("/clock", json({ advance: "1d", to: "2100-01-01T00:00:00.000Z" }))).status,
    ).toBe(400);
    expect((await dev("/clock", json({ advance: "soon" }))).status).toBe(400);
  });
});

describe("production bundles", () => {
  it("contain no local clock: every function bundled as build-function.mjs does", async () => {
    const functionsDir = fileURLToPath(new URL("../../functions/", import.meta.url));
    for (const name of readdirSync(functionsDir)) {
      const result = await build({
        ...nodeBundle,
        entryPoints: [join(functionsDir, name, "src", "main.ts")],
        external: ["@node-rs/bcrypt"],
        write: false,
        metafile: true,
        outfile: "main.mjs",
        logLevel: "silent",
      });
      const inputs = Object.keys(result.metafile.inputs);
      expect(
        inputs.some((input) => input.includes("scripts/src/local")),
        name,
      ).toBe(false);
      const text = result.outputFiles.map((f) => f.text).join("");
      expect(text.includes("/_dev/clock"), name).toBe(false);
      expect(text.includes("the local clock only moves forward"), name).toBe(false);
    }
  }, 120_000);
});
