import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isoDurationMs, loadManifests, triggerMatches } from "../src/local/manifests";
import { defaultKnativeDir } from "../src/local/runner";

const fixtures = fileURLToPath(new URL("./fixtures/knative/", import.meta.url));

describe("knative manifests as the local runner reads them", () => {
  const manifests = loadManifests(fixtures);

  it("reads Triggers, PingSources and Services", () => {
    expect(manifests.services).toEqual(["probe"]);
    expect(manifests.triggers.map((t) => t.name)).toEqual(["probe-users", "probe-legacy-filter"]);
    const [users] = manifests.triggers;
    expect(users?.subscriber).toEqual({ service: "probe", uri: "/events" });
    expect(users?.delivery).toEqual({
      retry: 2,
      backoffPolicy: "exponential",
      backoffDelayMs: 10,
      deadLetterSink: { service: "outbox-relay", uri: "/events/dead-letter" },
    });
    expect(manifests.pingSources).toEqual([
      {
        name: "probe-tick",
        schedule: "*/5 * * * *",
        timezone: undefined,
        data: '{"job":"tick"}',
        sink: { service: "probe", uri: "/cron/tick" },
      },
    ]);
  });

  it("applies filters the way Knative does", () => {
    const [users, legacy] = manifests.triggers;
    const attrs = (type: string) => ({ type, source: "auth", id: "1" });
    expect(triggerMatches(users!, attrs("dev.minispod.user.registered"))).toBe(true);
    expect(triggerMatches(users!, attrs("dev.minispod.invoice.paid"))).toBe(true);
    expect(triggerMatches(users!, attrs("dev.minispod.user.email_verified"))).toBe(false);
    expect(triggerMatches(users!, attrs("dev.minispod.subscription.activated"))).toBe(false);
    expect(triggerMatches(legacy!, attrs("dev.minispod.user.password_changed"))).toBe(true);
    expect(triggerMatches(legacy!, attrs("dev.minispod.user.registered"))).toBe(false);
  });

  it("parses ISO 8601 durations", () => {
    expect(isoDurationMs("PT2S")).toBe(2000);
    expect(isoDurationMs("PT1M30S")).toBe(90_000);
    expect(isoDurationMs("PT0.5S")).toBe(500);
    expect(isoDurationMs("P1DT1H")).toBe(25 * 3600_000);
    expect(() => isoDurationMs("2s")).toThrow();
  });

  it("reads the project's own knative/ without error, and every subscriber is a known Service", () => {
    const real = loadManifests(defaultKnativeDir);
    expect(real.services).toContain("auth");
    const destinations = [
      ...real.triggers.flatMap((t) => [
        t.subscriber,
        ...(t.delivery.deadLetterSink ? [t.delivery.deadLetterSink] : []),
      ]),
      ...real.pingSources.map((p) => p.sink),
    ];
    for (const d of destinations) expect(real.services).toContain(d.service);
  });
});
