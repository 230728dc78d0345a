/**
 * The alert rules as operators load them: promtool's unit tests of every alert
 * (deploy/observability/alerts.test.yaml) pass, every alert has a case where it
 * fires and one where it stays silent, and the PrometheusRule the Prometheus
 * Operator reads holds exactly the rules of alerts.yaml. promtool comes with
 * Debian's `prometheus` package; without it the promtool part is skipped, saying so.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ALERTS_FILE, PROMETHEUS_RULE_FILE, prometheusRuleOf } from "../src/deploy/prometheus-rule";
import { missingBinary } from "./support/process";

const observability = fileURLToPath(new URL("../../deploy/observability/", import.meta.url));
const promtool = process.env.PROMTOOL ?? "promtool";
const noPromtool = missingBinary(promtool, "apt-get install -y prometheus (or set PROMTOOL)");

interface RuleTest {
  name: string;
  alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[];
}
const alerts = (
  parse(readFileSync(ALERTS_FILE, "utf8")) as {
    groups: { rules: { alert?: string }[] }[];
  }
).groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
const tests = (
  parse(readFileSync(join(observability, "alerts.test.yaml"), "utf8")) as {
    tests: RuleTest[];
  }
).tests;

describe.skipIf(noPromtool !== undefined)(
  `promtool test rules${noPromtool ? ` (skipped: ${noPromtool})` : ""}`,
  () => {
    it("passes every unit test of the alert rules", () => {
      const run = spawnSync(promtool, ["test", "rules", "alerts.test.yaml"], {
        cwd: observability,
        encoding: "utf8",
      });
      expect(`${run.stdout}${run.stderr}`).toContain("SUCCESS");
      expect(run.status, run.stdout + run.stderr).toBe(0);
    });

    it("fails the unit tests when an alert's threshold is wrong", () => {
      // The same tests against rules with one threshold changed: promtool must notice.
      const dir = mkdtempSync(join(tmpdir(), "minispod-alerts-"));
      try {
        const rules = readFileSync(ALERTS_FILE, "utf8");
        const broken = rules.replace(
          "minispod_instances_failed_total[30m])) > 0",
          "minispod_instances_failed_total[30m])) > 10",
        );
        expect(broken).not.toBe(rules);
        writeFileSync(join(dir, "alerts.yaml"), broken);
        cpSync(join(observability, "alerts.test.yaml"), join(dir, "alerts.test.yaml"));
        const run = spawnSync(promtool, ["test", "rules", "alerts.test.yaml"], {
          cwd: dir,
          encoding: "utf8",
        });
        expect(run.status).not.toBe(0);
        expect(run.stdout + run.stderr).toMatch(/alertname: ProvisionsFailing/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);

describe("the alert rules' tests and the PrometheusRule", () => {
  it.each(alerts)("%s has a case where it fires and one where it stays silent", (alert) => {
    const cases = tests
      .flatMap((t) => t.alert_rule_test ?? [])
      .filter((c) => c.alertname === alert);
    expect(cases.some((c) => c.exp_alerts.length > 0)).toBe(true);
    expect(cases.some((c) => c.exp_alerts.length === 0)).toBe(true);
  });

  it("covers a counter reset and a replica that scaled to zero for each counter-based alert", () => {
    for (const alert of ["PaymentFailureRateHigh", "WebhookFailureRateHigh", "ProvisionsFailing"]) {
      const names = tests
        .filter((t) => t.alert_rule_test?.some((c) => c.alertname === alert))
        .map((t) => t.name)
        .join("\n");
      expect(names, alert).toMatch(/restart|reset/);
      expect(names, alert).toMatch(/scaled to zero/);
    }
  });

  it("generates the committed PrometheusRule from alerts.yaml (npm run observability:generate)", () => {
    const committed = readFileSync(PROMETHEUS_RULE_FILE, "utf8");
    expect(committed).toBe(prometheusRuleOf(readFileSync(ALERTS_FILE, "utf8")));
    const rule = parse(committed) as { spec: unknown };
    expect(rule.spec).toEqual(parse(readFileSync(ALERTS_FILE, "utf8")));
  });
});
