/**
 * The alert rules exist once, as plain Prometheus rules in
 * deploy/observability/alerts.yaml (`rule_files:`, promtool's unit tests);
 * the Prometheus Operator reads them from a PrometheusRule, which this
 * generates from that file so the two cannot drift
 * (`npm run observability:generate`; scripts/test/alerts.test.ts compares them).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parse, stringify } from "yaml";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
export const ALERTS_FILE = `${repo}deploy/observability/alerts.yaml`;
export const PROMETHEUS_RULE_FILE = `${repo}knative/components/monitoring/prometheus-rule.yaml`;

/** The PrometheusRule, as YAML text, holding exactly the groups of `alertsYaml`. */
export function prometheusRuleOf(alertsYaml: string): string {
  const { groups } = parse(alertsYaml) as { groups: unknown[] };
  const rule = {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: {
      name: "minispod",
      // kube-prometheus-stack's Prometheus selects rules by its release label; set
      // it to your release's name (docs/deploy.md, "Metrics and alerts").
      labels: { "app.kubernetes.io/part-of": "minispod", release: "prometheus" },
    },
    spec: { groups },
  };
  return `# Generated from deploy/observability/alerts.yaml by npm run observability:generate; do not edit.\n${stringify(rule, { lineWidth: 0 })}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(PROMETHEUS_RULE_FILE, prometheusRuleOf(readFileSync(ALERTS_FILE, "utf8")));
  console.log(`wrote ${PROMETHEUS_RULE_FILE}`);
}
