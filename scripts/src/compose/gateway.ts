import { readFileSync } from "node:fs";
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { parseAllDocuments } from "yaml";

/** One rule of the IngressRoute: a path prefix and the Knative Service it goes to. */
export interface GatewayRoute {
  prefix: string;
  service: string;
  /** Prefixes the rule leaves out (`!PathPrefix(...)`). */
  exclude?: string[];
}

/**
 * The routes of knative/base/api-ingress.yaml (Traefik IngressRoute rules
 * `Host(...) && PathPrefix(`/api/v1/<area>`)` -> service), longest prefix
 * first, so compose routes exactly what the cluster's ingress does.
 */
export function loadIngressRoutes(file: string): GatewayRoute[] {
  const routes: GatewayRoute[] = [];
  for (const document of parseAllDocuments(readFileSync(file, "utf8"))) {
    const doc = document.toJS() as {
      kind?: string;
      spec?: { routes?: { match?: string; services?: { name?: string }[] }[] };
    } | null;
    if (doc?.kind !== "IngressRoute") continue;
    for (const rule of doc.spec?.routes ?? []) {
      const prefix = /(?<!!)PathPrefix\(`([^`]+)`\)/.exec(rule.match ?? "")?.[1];
      const service = rule.services?.[0]?.name;
      if (!prefix || !service) throw new Error(`${file}: a route without PathPrefix or service`);
      // `!PathPrefix(...)` carves paths out of a route (the site's `/` leaves /metrics alone).
      const exclude = [...(rule.match ?? "").matchAll(/!PathPrefix\(`([^`]+)`\)/g)].map(
        (m) => m[1]!,
      );
      routes.push(exclude.length > 0 ? { prefix, service, exclude } : { prefix, service });
    }
  }
  if (routes.length === 0) throw new Error(`${file}: no IngressRoute routes`);
  return routes.sort((a, b) => b.prefix.length - a.prefix.length);
}

// Hop-by-hop headers (RFC 9110 7.6.1) are the proxy's own, never forwarded.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
]);

function problem(res: ServerResponse, status: number, title: string, detail: string) {
  res
    .writeHead(status, { "content-type": "application/problem+json", "cache-control": "no-store" })
    .end(JSON.stringify({ type: "about:blank", title, status, detail }));
}

/**
 * The one public host of the compose stack, standing in for the cluster's
 * Traefik: `/api/v1/<area>` to the function that owns it (by
 * `upstream(service)`), X-Forwarded-For/-Proto/-Host added as Traefik adds
 * them (the functions trust one hop), the rest to the portal (`PathPrefix(/)`,
 * the longest prefix wins), anything no route covers 404. `/ping` answers the
 * health check.
 *
 * @example
 * createGateway(loadIngressRoutes("knative/api-ingress.yaml"), (s) => `http://${s}:8080`).listen(8080);
 */
export function createGateway(
  routes: GatewayRoute[],
  upstream: (service: string) => string,
  options: { timeoutMs?: number } = {},
): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? "/";
    // Before routing: the site's PathPrefix(`/`) would otherwise take the health check.
    if (path === "/ping" && (req.method === "GET" || req.method === "HEAD")) {
      res.writeHead(200, { "content-type": "text/plain" }).end("OK");
      return;
    }
    const route = routes.find(
      (r) => path.startsWith(r.prefix) && !r.exclude?.some((x) => path.startsWith(x)),
    );
    if (!route) {
      problem(res, 404, "Not found", `No route for ${req.method} ${path.split("?")[0]}.`);
      return;
    }
    const target = new URL(path, upstream(route.service));
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    const client = req.socket.remoteAddress ?? "";
    const forwarded = req.headers["x-forwarded-for"];
    headers["x-forwarded-for"] = forwarded ? `${forwarded}, ${client}` : client;
    headers["x-forwarded-proto"] = "http";
    if (req.headers.host) headers["x-forwarded-host"] = req.headers.host;
    const outgoing = httpRequest(target, {
      method: req.method,
      headers,
      timeout: options.timeoutMs ?? 60_000,
    });
    outgoing.on("response", (answer) => {
      const back: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name)) back[name] = value;
      }
      res.writeHead(answer.statusCode ?? 502, back);
      answer.pipe(res);
    });
    outgoing.on("timeout", () => outgoing.destroy(new Error("upstream timed out")));
    outgoing.on("error", (error) => {
      if (res.headersSent) {
        res.destroy(error);
        return;
      }
      problem(res, 502, "Bad gateway", `${route.service} is not answering (${error.message}).`);
    });
    req.pipe(outgoing);
  });
}
