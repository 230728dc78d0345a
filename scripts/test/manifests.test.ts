import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { isoDurationMs, loadManifests, triggerMatches } from "../src/broker/manifests";
import { functions } from "../src/local/functions";
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

describe("knative/ stays in step with the code", () => {
  const base = defaultKnativeDir;
  const kustomization = parse(readFileSync(join(base, "kustomization.yaml"), "utf8")) as {
    resources: string[];
  };
  const docs = readdirSync(join(base, "functions")).flatMap((file) =>
    parseAllDocuments(readFileSync(join(base, "functions", file), "utf8")).map((d) => ({
      file,
      doc: d.toJS() as {
        kind: string;
        metadata: { name: string; labels?: Record<string, string> };
        spec: {
          template?: {
            spec: {
              containers: {
                image: string;
                readinessProbe?: { httpGet?: { path?: string } };
                securityContext?: Record<string, unknown>;
              }[];
            };
          };
        };
      },
    })),
  );

  it("lists every manifest file in the kustomization, and lists no missing file", () => {
    for (const resource of kustomization.resources)
      expect(existsSync(join(base, resource))).toBe(true);
    for (const file of readdirSync(join(base, "functions"))) {
      expect(kustomization.resources).toContain(`functions/${file}`);
    }
  });

  it("has one hardened Knative Service per hosted function, with its image and probes", () => {
    for (const definition of functions) {
      const service = docs.find(
        (d) => d.doc.kind === "Service" && d.doc.metadata.name === definition.name,
      );
      expect(service, `knative Service for ${definition.name}`).toBeDefined();
      const container = service!.doc.spec.template!.spec.containers[0]!;
      expect(container.image).toBe(`minispod/fn-${definition.name}`);
      expect(container.readinessProbe?.httpGet?.path).toBe("/health/readiness");
      expect(container.securityContext).toMatchObject({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
      });
    }
  });

  it("keeps functions without public routes off the public ingress", () => {
    for (const definition of functions.filter((d) => d.routes.length === 0)) {
      const service = docs.find(
        (d) => d.doc.kind === "Service" && d.doc.metadata.name === definition.name,
      );
      expect(service!.doc.metadata.labels?.["networking.knative.dev/visibility"]).toBe(
        "cluster-local",
      );
    }
  });
});
