import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { json } from "@minispod/shared/testing";
import { describe, expect, it } from "vitest";
import { functions } from "../src/local/functions";
import { localJourney } from "./support/journey";

/**
 * Metrics as operators get them: every function's /metrics is valid
 * Prometheus text, the business series move when the paid journey runs, and
 * every metric the Grafana dashboard and the alert rules name is exposed.
 */
const observability = fileURLToPath(new URL("../../deploy/observability/", import.meta.url));

// The business gauges read on every scrape, so the journey's changes show at once.
const journey = localJourney("metrics", { BUSINESS_METRICS_CACHE: "0s" });

// Values as Prometheus reads them (Go ParseFloat: NaN and Inf in any case; prom-client writes "Nan").
const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|[Nn]a[Nn]|[+-]?Inf)( -?\d+)?$/;
const META = /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/;

/** Parses Prometheus text exposition strictly; throws on the first line that is neither. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      if (!META.test(line)) throw new Error(`not a HELP/TYPE line: ${line}`);
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    samples.set(`${match[1]}${match[2] ?? ""}`, Number(match[3]));
  }
  return samples;
}

const scrape = async (path = "/metrics") => {
  const res = await journey.runner.app.request(path);
  expect(res.status, path).toBe(200);
  return parseExposition(await res.text());
};
/** Every function's samples in one map, each key prefixed by the function's name. */
const eventSeries = async () => {
  const all = new Map<string, number>();
  for (const { name } of functions) {
    for (const [key, value] of await scrape(`/_fn/${name}/metrics`)) {
      if (key.startsWith("minispod_events_")) all.set(`${key}|${name}`, value);
    }
  }
  return all;
};
/** The authorization header of a newly registered customer. */
const registered = async (email: string, name: string) => {
  const register = await journey.runner.app.request(
    "/api/v1/auth/register",
    json({ email, password: "a long password", name }),
  );
  return { authorization: `Bearer ${(await register.json()).accessToken}` };
};
const sumOf = (samples: Map<string, number>, name: string, label = "") =>
  [...samples.entries()]
    .filter(([key]) => key.split("{")[0] === name && key.includes(label))
    .reduce((total, [, v]) => total + v, 0);

describe("/metrics", () => {
  it("of every function is valid Prometheus text", async () => {
    for (const { name } of functions) {
      const samples = await scrape(`/_fn/${name}/metrics`);
      expect(sumOf(samples, "process_cpu_user_seconds_total"), name).toBeGreaterThan(0);
    }
  });

  it("moves the business series when the paid journey runs", async () => {
    const before = await scrape();
    const eventsBefore = await eventSeries();
    const auth = await registered("mia@example.com", "Mia");
    const subscribed = await journey.runner.app.request(
      "/api/v1/subscriptions",
      json({ serviceSlug: "uptime-kuma" }, auth),
    );
    expect(subscribed.status).toBe(201);
    await journey.runner.settle();
    const after = await scrape();

    const moved = (name: string, label: string) =>
      sumOf(after, name, label) - sumOf(before, name, label);
    expect(moved("minispod_subscriptions", 'status="ACTIVE"')).toBe(1);
    expect(moved("minispod_payments", 'status="SUCCEEDED"')).toBe(1);
    expect(moved("minispod_invoices", 'status="PAID"')).toBe(1);
    expect(moved("minispod_mrr_minor", "currency=")).toBeGreaterThan(0);
    expect(moved("minispod_emails", "")).toBeGreaterThan(0);
    expect(sumOf(after, "minispod_outbox_backlog")).toBe(0);
    expect(sumOf(after, "minispod_outbox_oldest_age_seconds")).toBe(0);

    // The event counters live in each function: summed over all of them.
    const eventsAfter = await eventSeries();
    const counted = (name: string, label: string) =>
      sumOf(eventsAfter, name, label) - sumOf(eventsBefore, name, label);
    const activated = 'type="subscription.activated"';
    expect(counted("minispod_events_published_total", activated)).toBeGreaterThanOrEqual(1);
    expect(
      counted("minispod_events_consumed_total", 'consumer="notifier",outcome="processed"'),
    ).toBeGreaterThanOrEqual(1);
    expect(counted("minispod_events_consumed_total", 'outcome="failed"')).toBe(0);
  });

  it("counts settled payments where they settle, by final status", async () => {
    const settled = async (status: string) =>
      sumOf(
        await scrape("/_fn/subscriptions/metrics"),
        "minispod_payments_settled_total",
        `status="${status}"`,
      );
    const before = { ok: await settled("SUCCEEDED"), failed: await settled("FAILED") };
    const auth = await registered("noor@example.com", "Noor");
    const declined = await journey.runner.app.request(
      "/api/v1/subscriptions",
      json({ serviceSlug: "uptime-kuma", paymentMethod: "pm_sandbox_declined" }, auth),
    );
    expect(declined.status).toBe(402);
    expect(await settled("FAILED")).toBe(before.failed + 1);
    const paid = await journey.runner.app.request(
      "/api/v1/subscriptions",
      json({ serviceSlug: "uptime-kuma" }, auth),
    );
    expect(paid.status).toBe(201);
    expect(await settled("SUCCEEDED")).toBe(before.ok + 1);
    expect(await settled("FAILED")).toBe(before.failed + 1);
  });

  it("exposes every metric the dashboard and the alert rules name", async () => {
    const text = await (await journey.runner.app.request("/metrics")).text();
    // A labelled gauge with no rows yet (no dead events) is declared by its TYPE line only.
    const declared = [...text.matchAll(/^# TYPE ([a-zA-Z0-9_:]+) /gm)].map((m) => m[1]!);
    const sampled = [...parseExposition(text).keys()].map((key) => key.split("{")[0]!);
    const exposed = new Set([...declared, ...sampled]);
    const dashboard = readFileSync(join(observability, "grafana-dashboard.json"), "utf8");
    const alerts = readFileSync(join(observability, "alerts.yaml"), "utf8");
    const named = new Set(
      [...`${dashboard}\n${alerts}`.matchAll(/\b((?:minispod|http)_[a-z0-9_]+)\b/g)].map(
        (m) => m[1]!,
      ),
    );
    expect(named.size).toBeGreaterThan(10);
    const missing = [...named].filter((name) => !exposed.has(name));
    expect(missing).toEqual([]);
  });
});
