import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { eventCatalogue, fullType } from "@minispod/shared";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isValidSchedule } from "../src/deploy/cron";
import {
  type CheckContext,
  checkBuiltOverlay,
  checkConnectionBudget,
  checkManifests,
  type K8sObject,
  loadObjects,
} from "../src/deploy/knative-checks";
import { kubectlMissing, kustomize } from "../src/deploy/kustomize";
import { answeredCronJobs, consumedTypes } from "../src/deploy/probe";
import { functions } from "../src/local/functions";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const knative = join(repo, "knative");
const base = loadObjects(join(knative, "base"));
const eventTypes = Object.keys(eventCatalogue).map((t) => fullType(t as never));

let harness: Harness;
let ctx: CheckContext;

beforeAll(async () => {
  harness = await createHarness();
  ctx = { functions, consumes: {}, cronJobs: {}, eventTypes };
  // Jobs named by a PingSource, plus one no function has, so a 404 is seen too.
  // Two functions may name a job alike (expiry-sweeper and outbox-relay both have "purge").
  const jobs = new Set(
    base
      .filter((o) => o.kind === "PingSource")
      .map((o) => /\/cron\/(.+)$/.exec(String(spec(o).sink?.uri))?.[1] ?? ""),
  );
  for (const definition of functions) {
    const app = await harness.app(definition);
    const request = (path: string, init: RequestInit) => app.request(path, init);
    ctx.consumes[definition.name] = await consumedTypes(request, eventTypes);
    ctx.cronJobs[definition.name] = await answeredCronJobs(request, [...jobs, "no-such-job"]);
  }
});
afterAll(() => harness?.close());

/** A deep copy of the base objects, for tests that break one thing. */
const copy = (): K8sObject[] => structuredClone(base);
const find = (objects: K8sObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} not in knative/base`);
  return found;
};
// biome-ignore lint/suspicious/noExplicitAny: tests reach into free-form manifest specs.
const spec = (o: K8sObject) => o.spec as any;

describe("what the functions consume, asked of their own apps", () => {
  it("finds the event consumers and their cron jobs", () => {
    expect(ctx.consumes.notifier).toContain("dev.minispod.user.registered");
    expect(ctx.consumes["webhook-dispatcher"]).toContain("dev.minispod.subscription.activated");
    expect(ctx.consumes.auth).toEqual([]);
    expect(ctx.cronJobs["webhook-dispatcher"]).toEqual(["retry"]);
    expect([...(ctx.cronJobs["outbox-relay"] ?? [])].sort()).toEqual(["purge", "relay"]);
    expect(Object.values(ctx.cronJobs).flat()).not.toContain("no-such-job");
  });
});

describe("knative/base passes the checks a dry run cannot make", () => {
  it("has no problem", () => {
    expect(checkManifests(base, ctx)).toEqual([]);
  });

  it("fails when a Trigger is deleted", () => {
    const objects = copy().filter(
      (o) => !(o.kind === "Trigger" && o.metadata.name === "notifier-customer-events"),
    );
    expect(checkManifests(objects, ctx)).toContain(
      "notifier consumes dev.minispod.user.registered but no Trigger delivers it to notifier",
    );
  });

  it("fails when an event type is misspelled in a Trigger", () => {
    const objects = copy();
    const filters = spec(find(objects, "Trigger", "webhook-dispatcher-customer-events")).filters;
    filters[0].any[0].prefix.type = "dev.minispod.subscripton.";
    const problems = checkManifests(objects, ctx);
    expect(problems).toContain(
      'Trigger/webhook-dispatcher-customer-events: filter prefix type "dev.minispod.subscripton." matches no event type',
    );
    expect(problems).toContain(
      "webhook-dispatcher consumes dev.minispod.subscription.activated but no Trigger delivers it to webhook-dispatcher",
    );
  });

  it("fails on the semantic mistakes Knative's webhooks would refuse", () => {
    const objects = copy();
    const notifier = find(objects, "Service", "notifier");
    spec(notifier).template.spec.containerConcurrency = -5;
    spec(notifier).template.metadata.annotations["autoscaling.knative.dev/max-scale"] = "lots";
    spec(find(objects, "Trigger", "notifier-customer-events")).delivery.backoffPolicy = "quadratic";
    spec(find(objects, "PingSource", "outbox-relay-every-minute")).schedule = "every minute please";
    spec(find(objects, "Broker", "minispod")).delivery.backoffDelay = "2 seconds";
    expect(checkManifests(objects, ctx)).toEqual([
      'Service/notifier: autoscaling.knative.dev/max-scale is "lots", must be a whole number >= 0 (0 = no limit)',
      "Service/notifier: containerConcurrency is -5, must be 0..1000",
      "Broker/minispod: delivery.backoffDelay 2 seconds is not an ISO 8601 duration",
      'Trigger/notifier-customer-events: delivery.backoffPolicy "quadratic" must be exponential or linear',
      'PingSource/outbox-relay-every-minute: schedule "every minute please" is not a cron expression',
    ]);
  });

  it("fails on a misspelled autoscaling annotation and on min-scale above max-scale", () => {
    const objects = copy();
    const annotations = spec(find(objects, "Service", "auth")).template.metadata.annotations;
    annotations["autoscaling.knative.dev/maxscale"] = "3";
    annotations["autoscaling.knative.dev/min-scale"] = "20";
    expect(checkManifests(objects, ctx)).toEqual([
      "Service/auth: unknown autoscaling annotation autoscaling.knative.dev/maxscale",
      "Service/auth: min-scale 20 is above max-scale 10",
    ]);
  });

  it("fails when a subscriber, a sink or a cron job does not exist", () => {
    const objects = copy();
    spec(find(objects, "Trigger", "notifier-customer-events")).subscriber.ref.name = "notifer";
    spec(find(objects, "PingSource", "webhook-dispatcher-retries")).sink.uri = "/cron/retries";
    const problems = checkManifests(objects, ctx);
    expect(problems).toContain(
      "Trigger/notifier-customer-events subscriber: points at serving.knative.dev/v1 Service/notifer, which is not here",
    );
    expect(problems).toContain(
      'PingSource/webhook-dispatcher-retries: webhook-dispatcher has no cron job "retries"',
    );
  });

  it("routes every declared prefix, and only those, to its function through the one host", () => {
    const objects = copy();
    const routes = spec(find(objects, "IngressRoute", "minispod-api")).routes;
    routes.splice(0, 1);
    routes.push({
      kind: "Rule",
      match: "Host(`api.example.com`) && PathPrefix(`/events`)",
      middlewares: [{ name: "host-notifier" }],
      services: [{ name: "notifier", port: 80 }],
    });
    routes[1].services[0].name = "auth";
    const problems = checkManifests(objects, ctx);
    expect(problems).toContain("auth declares /api/v1/auth but the public host does not route it");
    expect(problems).toContain(
      "IngressRoute/minispod-api: routes /events to notifier, which no function declares",
    );
    expect(problems).toContain(
      "/api/v1/subscriptions is declared by subscriptions but routed to auth",
    );
  });

  it("keeps the route table equal to FunctionDefinition.routes", () => {
    const routes = spec(find(base, "IngressRoute", "minispod-api")).routes as { match: string }[];
    const prefixes = routes.map((r) => /PathPrefix\(`([^`]+)`\)/.exec(r.match)?.[1]).sort();
    expect(prefixes).toEqual(functions.flatMap((f) => f.routes).sort());
  });
});

describe("PingSource schedules as Knative parses them", () => {
  it.each([
    "* * * * *",
    "*/5 * * * *",
    "0 3 * * MON-FRI",
    "15,45 0-6/2 1 JAN,jul ?",
    "@hourly",
    "@every 1h30m",
    "CRON_TZ=Europe/Berlin 0 9 * * *",
  ])("accepts %s", (schedule) => expect(isValidSchedule(schedule)).toBe(true));
  it.each([
    "every minute please",
    "* * * *",
    "* * * * * *",
    "60 * * * *",
    "* 24 * * *",
    "* * 0 * *",
    "5-1 * * * *",
    "*/0 * * * *",
    "@often",
    "CRON_TZ=Mars/Olympus 0 9 * * *",
  ])("refuses %s", (schedule) => expect(isValidSchedule(schedule)).toBe(false));
});

const noKubectl = kubectlMissing();
describe.skipIf(noKubectl !== undefined)(
  `every overlay, built with kubectl kustomize${noKubectl ? ` (skipped: ${noKubectl})` : ""}`,
  () => {
    const overlays = readdirSync(join(knative, "overlays"));

    it("finds the overlays", () => expect(overlays).toEqual(["dev", "production"]));

    it.each(overlays)("builds %s from a fresh clone and passes every check", (overlay) => {
      // Only what git tracks: a local secrets.env must not make this pass.
      const clone = mkdtempSync(join(tmpdir(), "minispod-knative-"));
      try {
        const tracked = execFileSync("git", ["ls-files", "knative"], {
          cwd: repo,
          encoding: "utf8",
        })
          .split("\n")
          .filter(Boolean);
        for (const file of tracked) {
          mkdirSync(dirname(join(clone, file)), { recursive: true });
          cpSync(join(repo, file), join(clone, file));
        }
        const built = kustomize(join(clone, "knative", "overlays", overlay));
        if (!built.ok) throw new Error(built.error);
        expect(checkBuiltOverlay(built.objects, ctx)).toEqual([]);
      } finally {
        rmSync(clone, { recursive: true, force: true });
      }
    });

    it("fails a built overlay with a resource outside the namespace, an unpinned image or a public Service", () => {
      const built = kustomize(join(knative, "overlays", "production"));
      if (!built.ok) throw new Error(built.error);
      const objects = built.objects;
      delete find(objects, "ConfigMap", "kafka-broker-config").metadata.namespace;
      spec(find(objects, "Service", "catalog")).template.spec.containers[0].image =
        "registry.example.com/minispod/fn-catalog:latest";
      delete find(objects, "Service", "billing").metadata.labels?.[
        "networking.knative.dev/visibility"
      ];
      for (const binding of objects.filter((o) => o.kind === "ClusterRoleBinding"))
        for (const subject of (binding as unknown as { subjects: { namespace: string }[] })
          .subjects)
          subject.namespace = "default";
      expect(checkBuiltOverlay(objects, ctx)).toEqual([
        "ClusterRoleBinding/minispod-instances: binds ServiceAccount instances of namespace default",
        "ClusterRoleBinding/minispod-provisioner: binds ServiceAccount provisioner of namespace default",
        "ConfigMap/kafka-broker-config is in namespace (none: the kubectl context's), not minispod",
        "Service/catalog: image registry.example.com/minispod/fn-catalog:latest has no pinned tag",
        "images disagree on registry or tag: registry.example.com|0.1.0, registry.example.com|latest (set them together)",
        "Service/billing is not cluster-local: it would get its own public host beside the one API host",
      ]);
    });

    it("refuses an overlay whose functions may open more connections than the pooler accepts", () => {
      const built = kustomize(join(repo, "scripts", "test", "fixtures", "oversized-overlay"));
      if (!built.ok) throw new Error(built.error);
      // 20 per replica of every max-scale (catalog at 40 instead of 10), except a
      // function whose own env sets DATABASE_POOL_MAX (the portal keeps 2); counted
      // here so that a new function's replicas do not change the expectation.
      const budget = built.objects
        .filter((o) => o.kind === "Service" && o.apiVersion.startsWith("serving.knative.dev/"))
        .map((o) => {
          const template = spec(o).template;
          const maxScale = Number(
            template.metadata.annotations["autoscaling.knative.dev/max-scale"],
          );
          const env = (template.spec.containers[0].env ?? []) as { name: string; value?: string }[];
          const own = env.find((e) => e.name === "DATABASE_POOL_MAX")?.value;
          return (own === undefined ? 20 : Number(own)) * maxScale;
        })
        .reduce((sum, n) => sum + n, 0);
      expect(budget).toBeGreaterThan(1000); // 1960 with the 14 functions of today
      expect(checkBuiltOverlay(built.objects, ctx)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^connection budget: functions may open ${budget} connections \\(.*catalog 20x40.*\\), Pooler/minispod-db-pooler-rw accepts 1000 \\(max_client_conn x 2 instances\\)$`,
          ),
        ),
      ]);
    });

    it("checks the pooler's server connections against the Cluster, and unbounded functions", () => {
      const built = kustomize(join(knative, "overlays", "production"));
      if (!built.ok) throw new Error(built.error);
      const objects = built.objects;
      spec(
        find(objects, "Pooler", "minispod-db-pooler-rw"),
      ).pgbouncer.parameters.default_pool_size = "150";
      delete spec(find(objects, "Service", "admin")).template.metadata.annotations[
        "autoscaling.knative.dev/max-scale"
      ];
      expect(checkConnectionBudget(objects)).toEqual([
        "Service/admin: no max-scale, so its database connections have no bound",
        "connection budget: Pooler/minispod-db-pooler-rw may open 300 server connections (default_pool_size x 2 instances), Cluster/minispod-db allows 197",
      ]);
    });

    it("puts API_HOST of each overlay into every public route", () => {
      const built = kustomize(join(knative, "overlays", "dev"));
      if (!built.ok) throw new Error(built.error);
      const route = find(built.objects, "IngressRoute", "minispod-api");
      for (const r of spec(route).routes)
        expect(r.match).toMatch(/^Host\(`api\.minispod\.localhost`\)/);
    });
  },
);
