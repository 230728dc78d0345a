import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { outboxEvents } from "@minispod/db";
import { parseTraceparent } from "@minispod/shared";
import { json } from "@minispod/shared/testing";
import { describe, expect, it } from "vitest";
import { localJourney } from "./support/journey";

/**
 * One W3C trace id from the customer's HTTP request, through the outbox and
 * the broker, to the notifier's email and the dispatcher's webhook, with every
 * function assembled as `npm start` does.
 */
const journey = localJourney("trace");

const api = journey.api;
const traceIdOf = (traceparent: string | null | undefined) =>
  parseTraceparent(traceparent)?.traceId;

function mailTo(email: string) {
  const dir = join(journey.runner.dataDir, "mailbox");
  return readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .map(
      (name) =>
        JSON.parse(readFileSync(join(dir, name), "utf8")) as {
          to: string;
          headers: Record<string, string>;
        },
    )
    .filter((m) => m.to === email);
}

async function outboxTraces() {
  const rows = await journey.runner.infra.database.db.select().from(outboxEvents);
  return rows.map((r) => ({ type: r.type, traceId: traceIdOf(r.traceparent) }));
}

describe("W3C trace context across events", () => {
  it("follows the caller's trace id from POST /subscriptions to the email and the webhook", async () => {
    const register = await api(
      "/auth/register",
      json({ email: "trace@example.com", password: "a long password", name: "Trace" }),
    );
    expect(register.status).toBe(201);
    const { accessToken } = await register.json();
    const auth = { authorization: `Bearer ${accessToken}` };
    const hook = await api(
      "/webhooks",
      json({ url: journey.receiver.url("/trace"), events: ["*"] }, auth),
    );
    expect(hook.status).toBe(201);

    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const subscribe = await api(
      "/subscriptions",
      json(
        { serviceSlug: "uptime-kuma" },
        {
          ...auth,
          "idempotency-key": "trace-1",
          traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        },
      ),
    );
    expect(subscribe.status).toBe(201);
    await journey.runner.settle();

    // The outbox rows the request wrote carry its trace (each with a span of its own).
    // The provisioner's instance.* events continue the same trace, one hop later.
    const caused = (await outboxTraces()).filter((e) => e.traceId === traceId);
    expect(caused.map((e) => e.type)).toContain("dev.minispod.instance.provisioning");
    expect(
      caused
        .map((e) => e.type)
        .filter((t) => !t.startsWith("dev.minispod.instance."))
        .sort(),
    ).toEqual([
      "dev.minispod.invoice.paid",
      "dev.minispod.payment.succeeded",
      "dev.minispod.subscription.activated",
    ]);

    // The dispatcher's webhooks: the W3C header, same trace id.
    // Three from the subscribe request, then the provisioner's instance.* events.
    const webhooks = journey.receiver.to("/trace");
    expect(webhooks.length).toBeGreaterThanOrEqual(4);
    for (const request of webhooks) expect(traceIdOf(request.headers.traceparent)).toBe(traceId);

    // The notifier's email about the activation.
    const activation = mailTo("trace@example.com").filter(
      (m) =>
        m.headers["X-Minispod-Template"] !== undefined &&
        /activ/i.test(m.headers["X-Minispod-Template"]),
    );
    expect(activation).toHaveLength(1);
    expect(activation[0]?.headers["X-Minispod-Trace-Id"]).toBe(traceId);
  });

  it("starts a trace named after the request id when the caller sends none", async () => {
    const register = await api(
      "/auth/register",
      json({ email: "untraced@example.com", password: "a long password", name: "Untraced" }),
    );
    expect(register.status).toBe(201);
    const requestId = register.headers.get("x-request-id") ?? "";
    const traceId = requestId.replaceAll("-", "");
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    await journey.runner.settle();

    expect((await outboxTraces()).filter((e) => e.traceId === traceId).map((e) => e.type)).toEqual([
      "dev.minispod.user.registered",
    ]);
    const welcome = mailTo("untraced@example.com");
    expect(welcome).toHaveLength(1);
    expect(welcome[0]?.headers["X-Minispod-Trace-Id"]).toBe(traceId);
  });

  it("ignores a malformed traceparent and starts a fresh trace", async () => {
    const register = await api(
      "/auth/register",
      json(
        { email: "badtrace@example.com", password: "a long password", name: "Bad" },
        { traceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01" },
      ),
    );
    expect(register.status).toBe(201);
    const traceId = (register.headers.get("x-request-id") ?? "").replaceAll("-", "");
    expect((await outboxTraces()).some((e) => e.traceId === traceId)).toBe(true);
  });
});
