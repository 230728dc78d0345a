import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

/** A Knative Destination: a Service by name plus a path. */
export interface Destination {
  service: string;
  uri: string;
}

export type FilterExpr =
  | { exact: Record<string, string> }
  | { prefix: Record<string, string> }
  | { suffix: Record<string, string> }
  | { all: FilterExpr[] }
  | { any: FilterExpr[] }
  | { not: FilterExpr }
  | { cesql: string };

export interface TriggerSpec {
  name: string;
  broker: string;
  /** Legacy `filter.attributes` (exact match on every attribute). */
  attributes: Record<string, string>;
  /** The `filters` dialect; when present, `attributes` is ignored, as in Knative. */
  filters: FilterExpr[] | undefined;
  subscriber: Destination;
  delivery: {
    retry: number;
    backoffPolicy: "exponential" | "linear";
    backoffDelayMs: number;
    deadLetterSink: Destination | undefined;
  };
}

export interface PingSourceSpec {
  name: string;
  schedule: string;
  timezone: string | undefined;
  data: string;
  sink: Destination;
}

export interface Manifests {
  triggers: TriggerSpec[];
  pingSources: PingSourceSpec[];
  /** Knative Service names declared. */
  services: string[];
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry) ? [path] : [];
  });
}

type Doc = Record<string, unknown>;
const obj = (x: unknown): Doc => (x && typeof x === "object" ? (x as Doc) : {});

function destination(raw: unknown, where: string): Destination {
  const d = obj(raw);
  const ref = obj(d.ref);
  if (ref.kind !== "Service" || typeof ref.name !== "string") {
    throw new Error(`${where}: only Knative Service refs are understood by the local broker`);
  }
  return { service: ref.name, uri: typeof d.uri === "string" ? d.uri : "/" };
}

/** ISO 8601 duration ("PT2S", "PT1M30S", "PT0.5S") -> milliseconds. */
export function isoDurationMs(text: string): number {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (!m) throw new Error(`not an ISO 8601 duration: ${text}`);
  const [, d, h, min, s] = m;
  return (
    ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 +
    Number(s ?? 0) * 1000
  );
}

/**
 * Reads every Trigger, PingSource and Knative Service under `dir`, so the
 * local runner routes and schedules exactly what the cluster would.
 */
export function loadManifests(dir: string): Manifests {
  const manifests: Manifests = { triggers: [], pingSources: [], services: [] };
  for (const file of yamlFiles(dir)) {
    for (const document of parseAllDocuments(readFileSync(file, "utf8"))) {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`);
      const doc = obj(document.toJS());
      const name = String(obj(doc.metadata).name ?? "");
      const spec = obj(doc.spec);
      const where = `${file} ${doc.kind}/${name}`;
      if (doc.kind === "Service" && String(doc.apiVersion).startsWith("serving.knative.dev")) {
        manifests.services.push(name);
      } else if (doc.kind === "Trigger") {
        const delivery = obj(spec.delivery);
        manifests.triggers.push({
          name,
          broker: String(spec.broker ?? "default"),
          attributes: Object.fromEntries(
            Object.entries(obj(obj(spec.filter).attributes)).map(([k, v]) => [k, String(v)]),
          ),
          filters: Array.isArray(spec.filters) ? (spec.filters as FilterExpr[]) : undefined,
          subscriber: destination(spec.subscriber, where),
          delivery: {
            retry: Number(delivery.retry ?? 0),
            backoffPolicy: delivery.backoffPolicy === "linear" ? "linear" : "exponential",
            backoffDelayMs: isoDurationMs(String(delivery.backoffDelay ?? "PT0.2S")),
            deadLetterSink: delivery.deadLetterSink
              ? destination(delivery.deadLetterSink, where)
              : undefined,
          },
        });
      } else if (doc.kind === "PingSource") {
        manifests.pingSources.push({
          name,
          schedule: String(spec.schedule),
          timezone: typeof spec.timezone === "string" ? spec.timezone : undefined,
          data: typeof spec.data === "string" ? spec.data : "",
          sink: destination(spec.sink, where),
        });
      }
    }
  }
  return manifests;
}

/** Knative's filter semantics over an event's attributes (type, source, subject, id, extensions). */
export function matchesFilter(
  expr: FilterExpr,
  attrs: Record<string, string | undefined>,
): boolean {
  if ("exact" in expr) return Object.entries(expr.exact).every(([k, v]) => attrs[k] === v);
  if ("prefix" in expr)
    return Object.entries(expr.prefix).every(([k, v]) => attrs[k]?.startsWith(v) ?? false);
  if ("suffix" in expr)
    return Object.entries(expr.suffix).every(([k, v]) => attrs[k]?.endsWith(v) ?? false);
  if ("all" in expr) return expr.all.every((e) => matchesFilter(e, attrs));
  if ("any" in expr) return expr.any.some((e) => matchesFilter(e, attrs));
  if ("not" in expr) return !matchesFilter(expr.not, attrs);
  // CESQL is not evaluated locally; refuse loudly rather than misroute.
  throw new Error(`CESQL filters are not supported by the local broker: ${expr.cesql}`);
}

export function triggerMatches(
  trigger: TriggerSpec,
  attrs: Record<string, string | undefined>,
): boolean {
  if (trigger.filters) return trigger.filters.every((f) => matchesFilter(f, attrs));
  return Object.entries(trigger.attributes).every(([k, v]) => attrs[k] === v);
}
