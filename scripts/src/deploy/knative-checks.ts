/**
 * Checks of knative/ that a server-side dry run cannot make: the Knative CRDs
 * validate field names and types, but the semantic rules live in Knative's
 * admission webhooks (not running against a bare API server), and nothing on a
 * server knows which event types our functions consume or which paths they
 * declare. Each check returns readable problems; an empty list means fine.
 *
 * @example
 * const problems = checkManifests(loadObjects("knative/base"), { functions, consumes, cronJobs });
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { type FilterExpr, isoDurationMs, matchesFilter } from "../broker/manifests";
import { isValidSchedule } from "./cron";

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

export interface CheckContext {
  /** Every deployable function: its Knative Service name and public path prefixes. */
  functions: { name: string; routes: string[] }[];
  /** Full CloudEvent types each function handles at /events (absent: none). */
  consumes: Record<string, string[]>;
  /** Cron job names each function answers at /cron/<job> (absent: none). */
  cronJobs: Record<string, string[]>;
  /** Every CloudEvent type the platform can publish. */
  eventTypes: string[];
}

export const NAMESPACE = "minispod";
export const PUBLIC_INGRESS = "minispod-api";

type Doc = Record<string, unknown>;
const obj = (x: unknown): Doc => (x && typeof x === "object" ? (x as Doc) : {});
const isKService = (o: K8sObject) =>
  o.kind === "Service" && o.apiVersion.startsWith("serving.knative.dev/");
const label = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;

/** Every object of every YAML file under `dir` (kustomization files excluded). */
export function loadObjects(dir: string): K8sObject[] {
  const files = (d: string): string[] =>
    readdirSync(d).flatMap((entry) => {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) return files(path);
      return /\.ya?ml$/.test(entry) && !/^kustomization\.ya?ml$/.test(entry) ? [path] : [];
    });
  return files(dir).flatMap((file) => parseObjects(readFileSync(file, "utf8"), file));
}

/** Parses a multi-document YAML stream (a file, or `kubectl kustomize` output). */
export function parseObjects(text: string, where = "input"): K8sObject[] {
  return parseAllDocuments(text).flatMap((document) => {
    if (document.errors.length > 0) throw new Error(`${where}: ${document.errors[0]?.message}`);
    const value = document.toJS() as K8sObject | null;
    return value && typeof value === "object" ? [value] : [];
  });
}

/** Every check below, over one set of objects (raw files or a built overlay). */
export function checkManifests(objects: K8sObject[], ctx: CheckContext): string[] {
  return [
    ...checkServices(objects),
    ...checkEventing(objects, ctx),
    ...checkPublicRouting(objects, ctx),
  ];
}

/** Checks that only make sense on a built overlay: namespace, visibility, images. */
export function checkBuiltOverlay(objects: K8sObject[], ctx: CheckContext): string[] {
  return [
    ...checkManifests(objects, ctx),
    ...checkNamespaces(objects),
    ...checkImages(objects, ctx),
    ...checkConnectionBudget(objects),
    ...objects
      .filter(isKService)
      .filter((o) => o.metadata.labels?.["networking.knative.dev/visibility"] !== "cluster-local")
      .map(
        (o) =>
          `${label(o)} is not cluster-local: it would get its own public host beside the one API host`,
      ),
  ];
}

// ---- Knative Serving ---------------------------------------------------------

const nonNegativeInt = (s: string) => /^\d+$/.test(s);
const positiveNumber = (s: string) => /^\d+(\.\d+)?$/.test(s) && Number(s) > 0;
/** Go durations as Knative's autoscaler reads them ("60s", "1m30s", "500ms"). */
const goDuration = (s: string) => /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s);

/** The autoscaling annotations Knative v0.51 knows, each with the rule its webhook enforces. */
const autoscalingRules: Record<string, [(value: string) => boolean, string]> = {
  class: [
    (v) => ["kpa.autoscaling.knative.dev", "hpa.autoscaling.knative.dev"].includes(v),
    "kpa.autoscaling.knative.dev or hpa.autoscaling.knative.dev",
  ],
  metric: [
    (v) => ["concurrency", "rps", "cpu", "memory"].includes(v),
    "concurrency|rps|cpu|memory",
  ],
  target: [positiveNumber, "a number above 0"],
  "target-utilization-percentage": [
    (v) => positiveNumber(v) && Number(v) <= 100,
    "a number in (0, 100]",
  ],
  "min-scale": [nonNegativeInt, "a whole number >= 0"],
  "max-scale": [nonNegativeInt, "a whole number >= 0 (0 = no limit)"],
  "initial-scale": [nonNegativeInt, "a whole number >= 0"],
  "activation-scale": [(v) => nonNegativeInt(v) && Number(v) >= 1, "a whole number >= 1"],
  "scale-down-delay": [goDuration, "a Go duration such as 15m"],
  window: [goDuration, "a Go duration from 6s to 1h such as 60s"],
  "panic-window-percentage": [(v) => positiveNumber(v) && Number(v) <= 100, "a number in (0, 100]"],
  "panic-threshold-percentage": [
    (v) => positiveNumber(v) && Number(v) >= 110 && Number(v) <= 1000,
    "a number in [110, 1000]",
  ],
  "target-burst-capacity": [(v) => v === "-1" || /^\d+(\.\d+)?$/.test(v), "-1 or a number >= 0"],
  "scale-to-zero-pod-retention-period": [goDuration, "a Go duration such as 1m5s"],
  // Older camelCase spellings Knative still accepts.
  minScale: [nonNegativeInt, "a whole number >= 0"],
  maxScale: [nonNegativeInt, "a whole number >= 0"],
  initialScale: [nonNegativeInt, "a whole number >= 0"],
};
/** Ports the queue-proxy sidecar takes; a user container must not listen there. */
const reservedPorts = new Set([8012, 8013, 8022, 9090, 9091]);

function checkServices(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const service of objects.filter(isKService)) {
    const where = label(service);
    const template = obj(obj(service.spec).template);
    const annotations = obj(obj(template.metadata).annotations) as Record<string, string>;
    for (const [key, value] of Object.entries(annotations)) {
      if (!key.startsWith("autoscaling.knative.dev/")) continue;
      const rule = autoscalingRules[key.slice("autoscaling.knative.dev/".length)];
      if (!rule) problems.push(`${where}: unknown autoscaling annotation ${key}`);
      else if (typeof value !== "string" || !rule[0](value))
        problems.push(`${where}: ${key} is ${JSON.stringify(value)}, must be ${rule[1]}`);
    }
    const scale = (name: string) => annotations[`autoscaling.knative.dev/${name}`];
    const [min, max] = [scale("min-scale"), scale("max-scale")];
    if (min && max && nonNegativeInt(min) && nonNegativeInt(max)) {
      if (Number(max) !== 0 && Number(min) > Number(max))
        problems.push(`${where}: min-scale ${min} is above max-scale ${max}`);
    }
    const spec = obj(template.spec);
    const intIn = (field: string, lo: number, hi: number) => {
      const value = spec[field];
      if (value === undefined) return;
      if (!Number.isInteger(value) || (value as number) < lo || (value as number) > hi)
        problems.push(`${where}: ${field} is ${JSON.stringify(value)}, must be ${lo}..${hi}`);
    };
    // Limits of Knative's default config-defaults (container-concurrency-max-limit,
    // max-revision-timeout-seconds).
    intIn("containerConcurrency", 0, 1000);
    intIn("timeoutSeconds", 1, 600);
    intIn("responseStartTimeoutSeconds", 1, 600);
    intIn("idleTimeoutSeconds", 0, 600);
    const containers = Array.isArray(spec.containers) ? spec.containers.map(obj) : [];
    if (containers.length === 0) problems.push(`${where}: no container`);
    const withPorts = containers.filter((c) => Array.isArray(c.ports) && c.ports.length > 0);
    if (containers.length > 1 && withPorts.length !== 1)
      problems.push(`${where}: exactly one container may declare a port`);
    for (const container of containers) {
      for (const port of (Array.isArray(container.ports) ? container.ports : []).map(obj)) {
        if (reservedPorts.has(Number(port.containerPort)))
          problems.push(`${where}: containerPort ${port.containerPort} is reserved by Knative`);
      }
      for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
        const path = obj(obj(container[probe]).httpGet).path;
        if (path !== undefined && (typeof path !== "string" || !path.startsWith("/")))
          problems.push(`${where}: ${probe} path ${JSON.stringify(path)} must start with /`);
      }
    }
  }
  return problems;
}

// ---- Knative Eventing --------------------------------------------------------

interface ResolvedDestination {
  service: string | undefined;
  uri: string;
}

function destination(
  raw: unknown,
  where: string,
  objects: K8sObject[],
  problems: string[],
): ResolvedDestination | undefined {
  const d = obj(raw);
  const ref = obj(d.ref);
  const uri = typeof d.uri === "string" ? d.uri : "";
  if (!d.ref) {
    if (!uri) problems.push(`${where}: destination has neither ref nor uri`);
    return { service: undefined, uri };
  }
  if (uri && !uri.startsWith("/")) problems.push(`${where}: uri ${uri} must be a path`);
  const found = objects.find(
    (o) => o.kind === ref.kind && o.apiVersion === ref.apiVersion && o.metadata.name === ref.name,
  );
  if (!found) {
    problems.push(
      `${where}: points at ${ref.apiVersion} ${ref.kind}/${ref.name}, which is not here`,
    );
    return undefined;
  }
  return { service: isKService(found) ? found.metadata.name : undefined, uri: uri || "/" };
}

function checkDelivery(raw: unknown, where: string, objects: K8sObject[], problems: string[]) {
  if (raw === undefined) return;
  const delivery = obj(raw);
  if (
    delivery.retry !== undefined &&
    (!Number.isInteger(delivery.retry) || (delivery.retry as number) < 0)
  )
    problems.push(`${where}: delivery.retry must be a whole number >= 0`);
  if (
    delivery.backoffPolicy !== undefined &&
    !["exponential", "linear"].includes(String(delivery.backoffPolicy))
  )
    problems.push(
      `${where}: delivery.backoffPolicy ${JSON.stringify(delivery.backoffPolicy)} must be exponential or linear`,
    );
  for (const field of ["backoffDelay", "timeout"]) {
    if (delivery[field] === undefined) continue;
    try {
      isoDurationMs(String(delivery[field]));
    } catch {
      problems.push(`${where}: delivery.${field} ${delivery[field]} is not an ISO 8601 duration`);
    }
  }
  if (delivery.deadLetterSink)
    destination(delivery.deadLetterSink, `${where} deadLetterSink`, objects, problems);
}

/** The type values a filter names, each of which must belong to some real event type. */
function typeLeaves(expr: FilterExpr): { op: "exact" | "prefix" | "suffix"; value: string }[] {
  if ("exact" in expr && expr.exact.type) return [{ op: "exact", value: expr.exact.type }];
  if ("prefix" in expr && expr.prefix.type) return [{ op: "prefix", value: expr.prefix.type }];
  if ("suffix" in expr && expr.suffix.type) return [{ op: "suffix", value: expr.suffix.type }];
  if ("all" in expr) return expr.all.flatMap(typeLeaves);
  if ("any" in expr) return expr.any.flatMap(typeLeaves);
  if ("not" in expr) return typeLeaves(expr.not);
  return [];
}

function triggerAccepts(spec: Doc, type: string): boolean {
  const attrs = { type, source: "check", id: "check" };
  if (Array.isArray(spec.filters))
    return (spec.filters as FilterExpr[]).every((f) => matchesFilter(f, attrs));
  const exact = obj(obj(spec.filter).attributes) as Record<string, string>;
  return Object.entries(exact).every(([k, v]) => k !== "type" || v === type);
}

function checkEventing(objects: K8sObject[], ctx: CheckContext): string[] {
  const problems: string[] = [];
  const brokers = objects.filter((o) => o.kind === "Broker").map((o) => o.metadata.name);
  for (const broker of objects.filter((o) => o.kind === "Broker"))
    checkDelivery(obj(broker.spec).delivery, label(broker), objects, problems);

  // For each function, which event types reach its /events through some Trigger.
  const delivered = new Map<string, Set<string>>();
  for (const trigger of objects.filter((o) => o.kind === "Trigger")) {
    const where = label(trigger);
    const spec = obj(trigger.spec);
    if (!brokers.includes(String(spec.broker)))
      problems.push(`${where}: broker ${spec.broker} is not here`);
    checkDelivery(spec.delivery, where, objects, problems);
    if (Array.isArray(spec.filters)) {
      for (const leaf of (spec.filters as FilterExpr[]).flatMap(typeLeaves)) {
        const known = ctx.eventTypes.some((t) =>
          leaf.op === "exact"
            ? t === leaf.value
            : leaf.op === "prefix"
              ? t.startsWith(leaf.value)
              : t.endsWith(leaf.value),
        );
        if (!known)
          problems.push(`${where}: filter ${leaf.op} type "${leaf.value}" matches no event type`);
      }
    }
    const target = destination(spec.subscriber, `${where} subscriber`, objects, problems);
    if (!target?.service) continue;
    const accepted = ctx.eventTypes.filter((t) => triggerAccepts(spec, t));
    if (accepted.length === 0) problems.push(`${where}: its filter lets no event type through`);
    if (target.uri !== "/events") {
      problems.push(`${where}: delivers to ${target.uri}; functions consume events at /events`);
      continue;
    }
    const consumed = ctx.consumes[target.service] ?? [];
    if (consumed.length === 0)
      problems.push(`${where}: ${target.service} consumes no event type at /events`);
    const set = delivered.get(target.service) ?? new Set<string>();
    for (const t of accepted) set.add(t);
    delivered.set(target.service, set);
  }
  for (const [service, types] of Object.entries(ctx.consumes)) {
    if (!objects.some((o) => isKService(o) && o.metadata.name === service)) continue;
    for (const type of types) {
      if (!delivered.get(service)?.has(type))
        problems.push(`${service} consumes ${type} but no Trigger delivers it to ${service}`);
    }
  }

  for (const ping of objects.filter((o) => o.kind === "PingSource")) {
    const where = label(ping);
    const spec = obj(ping.spec);
    if (!isValidSchedule(String(spec.schedule ?? "")))
      problems.push(`${where}: schedule ${JSON.stringify(spec.schedule)} is not a cron expression`);
    if (spec.timezone !== undefined) {
      try {
        new Intl.DateTimeFormat("en", { timeZone: String(spec.timezone) });
      } catch {
        problems.push(`${where}: timezone ${spec.timezone} is not an IANA time zone`);
      }
    }
    if (String(spec.contentType ?? "").includes("json") && spec.data !== undefined) {
      try {
        JSON.parse(String(spec.data));
      } catch {
        problems.push(`${where}: data is not JSON although contentType says so`);
      }
    }
    const sink = destination(spec.sink, `${where} sink`, objects, problems);
    if (!sink?.service) continue;
    const job = /^\/cron\/([^/]+)$/.exec(sink.uri)?.[1];
    if (!job) problems.push(`${where}: sink uri ${sink.uri} is not /cron/<job>`);
    else if (!(ctx.cronJobs[sink.service] ?? []).includes(job))
      problems.push(`${where}: ${sink.service} has no cron job "${job}"`);
  }

  for (const binding of objects.filter((o) => o.kind === "SinkBinding")) {
    const where = label(binding);
    const spec = obj(binding.spec);
    destination(spec.sink, `${where} sink`, objects, problems);
    const selector = obj(obj(obj(spec.subject).selector).matchLabels) as Record<string, string>;
    const bound = objects.filter(
      (o) =>
        isKService(o) && Object.entries(selector).every(([k, v]) => o.metadata.labels?.[k] === v),
    );
    if (Object.keys(selector).length > 0 && bound.length === 0)
      problems.push(`${where}: its selector matches no Knative Service`);
  }
  return problems;
}

// ---- Public routing ----------------------------------------------------------

/** `Host(\`a\`) && PathPrefix(\`/b\`)` -> { host: "a", prefix: "/b" } */
export function parseRouteMatch(match: string): { host?: string; prefix?: string } {
  return {
    host: /Host\(`([^`]+)`\)/.exec(match)?.[1],
    prefix: /PathPrefix\(`([^`]+)`\)/.exec(match)?.[1],
  };
}

function checkPublicRouting(objects: K8sObject[], ctx: CheckContext): string[] {
  const problems: string[] = [];
  const ingress = objects.find(
    (o) => o.kind === "IngressRoute" && o.metadata.name === PUBLIC_INGRESS,
  );
  if (!ingress) return [`IngressRoute/${PUBLIC_INGRESS} (the public API host) is missing`];
  const spec = obj(ingress.spec);
  const where = label(ingress);
  if (JSON.stringify(spec.entryPoints) !== JSON.stringify(["websecure"]))
    problems.push(`${where}: must listen on the websecure (TLS) entry point only`);
  if (!obj(spec.tls).secretName && !obj(spec.tls).certResolver)
    problems.push(`${where}: has no TLS certificate`);
  const middlewares = new Map(
    objects
      .filter((o) => o.kind === "Middleware")
      .map((o) => [o.metadata.name, obj(obj(obj(o.spec).headers).customRequestHeaders).Host]),
  );
  const routes = (Array.isArray(spec.routes) ? spec.routes : []).map(obj);
  const hosts = new Set<string | undefined>();
  const table = new Map<string, string>();
  for (const route of routes) {
    const { host, prefix } = parseRouteMatch(String(route.match ?? ""));
    hosts.add(host);
    const services = (Array.isArray(route.services) ? route.services : []).map(obj);
    const service = String(services[0]?.name ?? "");
    if (!prefix) {
      problems.push(`${where}: route ${route.match} has no PathPrefix`);
      continue;
    }
    if (table.has(prefix)) problems.push(`${where}: ${prefix} is routed twice`);
    table.set(prefix, service);
    if (services.length !== 1 || Number(services[0]?.port) !== 80)
      problems.push(`${where}: ${prefix} must go to one Knative Service on port 80`);
    // Kourier picks the function by Host: without the rewrite the request would 404 there.
    const rewrites = (Array.isArray(route.middlewares) ? route.middlewares : []).map(
      (m) => middlewares.get(String(obj(m).name)) as string | undefined,
    );
    const expected = `${service}.${NAMESPACE}.svc.cluster.local`;
    if (!rewrites.includes(expected))
      problems.push(`${where}: ${prefix} does not set Host to ${expected} (Middleware missing?)`);
  }
  if (hosts.size !== 1 || hosts.has(undefined))
    problems.push(`${where}: every route must name the same one host (found ${[...hosts]})`);
  const declared = new Map<string, string>();
  for (const fn of ctx.functions) {
    for (const prefix of fn.routes) {
      declared.set(prefix, fn.name);
      // "/" is the site (the portal's pages): the shortest rule, so Traefik tries it last.
      if (!prefix.startsWith("/api/v1/") && prefix !== "/")
        problems.push(`${fn.name} declares ${prefix}, outside /api/v1/`);
      const routed = table.get(prefix);
      if (routed === undefined)
        problems.push(`${fn.name} declares ${prefix} but the public host does not route it`);
      else if (routed !== fn.name)
        problems.push(`${prefix} is declared by ${fn.name} but routed to ${routed}`);
    }
  }
  for (const [prefix, service] of table) {
    if (!declared.has(prefix))
      problems.push(`${where}: routes ${prefix} to ${service}, which no function declares`);
  }
  return problems;
}

// ---- Built overlay only ------------------------------------------------------

/** Kinds that have no namespace; the provisioner's ClusterRole is one (it creates customers' namespaces). */
const clusterScoped = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "PriorityClass",
  "StorageClass",
  // Bounds the provisioner's cluster-wide Secret and namespace writes (provisioner-rbac.yaml).
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
]);

function checkNamespaces(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    if (o.kind === "Namespace") {
      if (o.metadata.name !== NAMESPACE) problems.push(`Namespace/${o.metadata.name} is not ours`);
    } else if (!clusterScoped.has(o.kind) && o.metadata.namespace !== NAMESPACE) {
      problems.push(
        `${label(o)} is in namespace ${o.metadata.namespace ?? "(none: the kubectl context's)"}, not ${NAMESPACE}`,
      );
    }
    // A binding to a ServiceAccount elsewhere would grant our rights to someone else's pods.
    if (o.kind === "ClusterRoleBinding" || o.kind === "RoleBinding") {
      const subjects = (o as unknown as { subjects?: Doc[] }).subjects ?? [];
      for (const subject of subjects) {
        if (subject.kind === "ServiceAccount" && subject.namespace !== NAMESPACE)
          problems.push(
            `${label(o)}: binds ServiceAccount ${subject.name} of namespace ${subject.namespace}`,
          );
      }
    }
  }
  return problems;
}

/** `registry.example.com/minispod/fn-auth:1.2.3` -> parts; undefined when not ours. */
export function parseImage(
  image: string,
): { registry: string; name: string; tag: string | undefined } | undefined {
  const m = /^(?:(.+)\/)?minispod\/fn-([a-z0-9-]+)(?::([\w.-]+))?(?:@sha256:[0-9a-f]{64})?$/.exec(
    image,
  );
  return m ? { registry: m[1] ?? "", name: m[2] ?? "", tag: m[3] } : undefined;
}

function checkImages(objects: K8sObject[], ctx: CheckContext): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const o of objects) {
    // Knative Services and Jobs both keep their pod under spec.template.
    const containers = obj(obj(obj(o.spec).template).spec).containers;
    if (!Array.isArray(containers)) continue;
    for (const container of containers.map(obj)) {
      const image = String(container.image ?? "");
      const parsed = parseImage(image);
      if (!parsed) {
        problems.push(`${label(o)}: image ${image} is not <registry>/minispod/fn-<name>:<tag>`);
        continue;
      }
      if (!parsed.registry) problems.push(`${label(o)}: image ${image} names no registry`);
      if (!parsed.tag || parsed.tag === "latest")
        problems.push(`${label(o)}: image ${image} has no pinned tag`);
      if (isKService(o) && parsed.name !== o.metadata.name)
        problems.push(`${label(o)}: runs the image of ${parsed.name}`);
      seen.add(`${parsed.registry}|${parsed.tag}`);
    }
  }
  if (seen.size > 1)
    problems.push(
      `images disagree on registry or tag: ${[...seen].join(", ")} (set them together)`,
    );
  for (const fn of ctx.functions) {
    if (!objects.some((o) => isKService(o) && o.metadata.name === fn.name))
      problems.push(`${fn.name} has no Knative Service`);
  }
  return problems;
}

// ---- Connection budget -------------------------------------------------------

/** DATABASE_POOL_MAX when nothing sets it (shared/src/env.ts). */
const DEFAULT_POOL_MAX = 10;
/** PgBouncer's own defaults, for a Pooler that does not set them. */
const PGBOUNCER_DEFAULTS = { max_client_conn: 100, default_pool_size: 20 };
/** PostgreSQL's defaults. */
const POSTGRES_DEFAULTS = { max_connections: 100, superuser_reserved_connections: 3 };

/**
 * Every function replica opens up to DATABASE_POOL_MAX connections, and Knative
 * runs up to max-scale replicas of each: the sum over functions of the two
 * must fit in what the database side accepts. With a CloudNativePG Pooler that
 * is max_client_conn x its instances (and its server side, default_pool_size x
 * instances, must fit in the Cluster's max_connections); with a Cluster alone,
 * max_connections less the superuser reserve. Overlays without either (an
 * external database) are not checked. A function without max-scale can grow
 * without bound, so it is reported on its own.
 */
export function checkConnectionBudget(objects: K8sObject[]): string[] {
  const cluster = objects.find(
    (o) => o.kind === "Cluster" && o.apiVersion.startsWith("postgresql.cnpg.io/"),
  );
  const pooler = objects.find(
    (o) => o.kind === "Pooler" && o.apiVersion.startsWith("postgresql.cnpg.io/"),
  );
  if (!cluster && !pooler) return [];
  const problems: string[] = [];
  const config = objects.find(
    (o) => o.kind === "ConfigMap" && o.metadata.name === "minispod-config",
  );
  const number = (value: unknown, fallback: number) =>
    value === undefined || value === "" ? fallback : Number(value);

  let demand = 0;
  const parts: string[] = [];
  for (const service of objects.filter(isKService)) {
    const template = obj(obj(service.spec).template);
    const annotations = obj(obj(template.metadata).annotations) as Record<string, string>;
    const maxScale = Number(annotations["autoscaling.knative.dev/max-scale"] ?? 0);
    if (!maxScale) {
      problems.push(`${label(service)}: no max-scale, so its database connections have no bound`);
      continue;
    }
    const containers = obj(template.spec).containers;
    const env = (Array.isArray(containers) ? containers.map(obj) : []).flatMap((c) =>
      Array.isArray(c.env) ? c.env.map(obj) : [],
    );
    const own = env.find((e) => e.name === "DATABASE_POOL_MAX")?.value;
    const poolMax = number(own ?? config?.data?.DATABASE_POOL_MAX, DEFAULT_POOL_MAX);
    demand += poolMax * maxScale;
    parts.push(`${service.metadata.name} ${poolMax}x${maxScale}`);
  }
  const clusterParams = obj(obj(obj(cluster?.spec).postgresql).parameters);
  const serverLimit =
    number(clusterParams.max_connections, POSTGRES_DEFAULTS.max_connections) -
    number(
      clusterParams.superuser_reserved_connections,
      POSTGRES_DEFAULTS.superuser_reserved_connections,
    );
  if (pooler) {
    const spec = obj(pooler.spec);
    const params = obj(obj(spec.pgbouncer).parameters);
    const instances = number(spec.instances, 1);
    const clients = number(params.max_client_conn, PGBOUNCER_DEFAULTS.max_client_conn) * instances;
    if (demand > clients)
      problems.push(
        `connection budget: functions may open ${demand} connections (${parts.join(", ")}), ` +
          `${label(pooler)} accepts ${clients} (max_client_conn x ${instances} instances)`,
      );
    const servers =
      number(params.default_pool_size, PGBOUNCER_DEFAULTS.default_pool_size) * instances;
    if (cluster && servers > serverLimit)
      problems.push(
        `connection budget: ${label(pooler)} may open ${servers} server connections ` +
          `(default_pool_size x ${instances} instances), ${label(cluster)} allows ${serverLimit}`,
      );
  } else if (demand > serverLimit) {
    problems.push(
      `connection budget: functions may open ${demand} connections (${parts.join(", ")}), ` +
        `${label(cluster!)} allows ${serverLimit} (max_connections less the superuser reserve)`,
    );
  }
  return problems;
}
