import { randomUUID } from "node:crypto";
import { type IncomingHttpHeaders, IncomingMessage } from "node:http";
import { type Context, Hono, type Next } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { matchedRoutes } from "hono/route";
import { type AppEnv, nodeResponse } from "./app-env";
import { sha256 } from "./crypto";
import { docsRoutes } from "./docs";
import { AppError, handleError, REQUEST_ID } from "./errors";
import { requestTrace, withTrace } from "./events/trace";
import type { TokenVerifier } from "./jwt";
import { type Logger, runWithRequestId } from "./logger";
import type { Metrics } from "./metrics";
import { type OpenApiDocument, openApiDocument } from "./openapi";
import type { ProxyTrust } from "./proxies";
import { enforceRateLimit } from "./rate-limit";
import { FunctionResponse, SECURITY_HEADERS } from "./security-headers";
import { networkReason } from "./startup";
import type { RateLimiter } from "./store";

/** Version of the public API description. */
export const API_VERSION = "1.0.0";

export type ReadinessCheck = () => Promise<void>;

export interface FunctionAppOptions {
  /** Function name, used in logs and metrics. */
  name: string;
  logger: Logger;
  metrics: Metrics;
  /** Named dependency checks run by `/health/readiness`. */
  readiness?: Record<string, ReadinessCheck>;
  metricsEnabled?: boolean;
  bodyLimitBytes?: number;
  corsOrigins?: string[];
  /** Which proxies' X-Forwarded-For entries to believe (default: the last one, the ingress). */
  proxyTrust?: ProxyTrust;
  /** Requests per minute one access token may make to `/api/*` (0 = no limit). */
  tokenRateLimit?: { limiter: RateLimiter; perMinute: number; verifier?: TokenVerifier };
}

export { SECURITY_HEADERS };

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

/**
 * The Node request's own header map under @hono/node-server: reading a header
 * there is a property lookup, where `c.req.header()` goes through the
 * adapter's WHATWG `Headers` (name check, lower-casing, value scan).
 */
function requestHeaders(c: Context): IncomingHttpHeaders | undefined {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  return incoming instanceof IncomingMessage ? incoming.headers : undefined;
}

/**
 * A header Node joins when repeated (", "), as `Headers.get` does; not for the
 * ones Node keeps only the first of (content-type, authorization…).
 */
function header(c: Context, headers: IncomingHttpHeaders | undefined, name: string) {
  if (!headers) return c.req.header(name);
  const value = headers[name];
  return typeof value === "string" ? value : undefined;
}

/** Any body sent to the API must be JSON (415); body-less POSTs (`curl -X POST`) pass. */
function checkMediaType(c: Context) {
  const type = c.req.header("content-type");
  const mediaType = type?.split(";")[0]?.trim().toLowerCase();
  const declaresBody = type !== undefined || Number(c.req.header("content-length") ?? 0) > 0;
  if (declaresBody && mediaType !== "application/json" && !mediaType?.endsWith("+json")) {
    throw new AppError("UNSUPPORTED_MEDIA_TYPE", {
      detail: "Send the request body as application/json.",
    });
  }
}

/**
 * Builds the Hono app every function starts from: request id, per-request
 * logger, HTTP metrics by route template, secure headers, CORS, body limit
 * (413), JSON-only bodies (415), health and metrics routes, problem+json
 * errors and not-found. Functions add their routes with `app.route()`.
 *
 * @example
 * const app = createFunctionApp({ name: "auth", logger, metrics, readiness: { db: database.ping } });
 * app.route("/api/v1/auth", authRoutes(deps));
 */
export function createFunctionApp(options: FunctionAppOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { logger, metrics, proxyTrust } = options;
  // The request line has fixed fields and never a secret: skipping the redaction
  // pass saves about 10 µs per request.
  const accessLog = logger.child({}, { redact: [] });

  const limitBody = bodyLimit({
    maxSize: options.bodyLimitBytes ?? 1024 * 1024,
    onError: () => {
      throw new AppError("PAYLOAD_TOO_LARGE", {
        detail: `The request body exceeds ${options.bodyLimitBytes ?? 1024 * 1024} bytes.`,
      });
    },
  });
  const origins = options.corsOrigins ?? [];
  const allowOrigins =
    origins.length > 0
      ? cors({
          origin: origins,
          allowHeaders: [
            "Authorization",
            "Content-Type",
            "Idempotency-Key",
            "If-Match",
            "X-Request-Id",
          ],
          // The response headers the API document promises, readable by browser clients too.
          exposeHeaders: ["X-Request-Id", "Retry-After", "Location", "ETag", "Idempotent-Replayed"],
          maxAge: 600,
        })
      : undefined;

  // One middleware for what every request gets (request id, trace, security
  // headers, CORS, body rules, request scope, metrics, access log): each
  // further layer in Hono's compose costs about a microsecond per request,
  // a tenth of what bare node:http spends on the whole of /health/liveness.
  app.use("*", async (c, next) => {
    const headers = requestHeaders(c);
    const incoming = header(c, headers, "x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.set("requestId", requestId);
    if (proxyTrust) c.set("proxyTrust", proxyTrust);
    const method = c.req.method;
    // W3C trace context: carried into the events this request enqueues (see events/trace.ts).
    // Only requests that carry one or change state get it, so plain reads pay nothing.
    const trace = requestTrace(
      header(c, headers, "traceparent") ?? header(c, headers, "ce-traceparent"),
      method,
      requestId,
    );
    // Lines logged while serving carry the request id (see runWithRequestId).
    c.set("logger", trace ? logger.child({ traceId: trace.traceId }) : logger);
    const outgoing = nodeResponse(c);
    if (outgoing instanceof FunctionResponse) {
      // serveApp's responses add the security headers and this id when the head is written.
      outgoing.requestId = requestId;
    } else if (outgoing) {
      for (const [name, value] of SECURITY_HEADERS) outgoing.setHeader(name, value);
      outgoing.setHeader("x-request-id", requestId);
    } else {
      c.header("x-request-id", requestId);
    }
    const started = performance.now();
    // GET and HEAD carry no body; asking for one would make the Node adapter
    // build a whole WHATWG Request for every read.
    const withBody = method !== "GET" && method !== "HEAD";
    const checked =
      withBody && BODY_METHODS.has(method) && c.req.path.startsWith("/api/")
        ? () => {
            checkMediaType(c);
            return next();
          }
        : next;
    // What Hono's compose does with a layer's error: the error handler answers.
    const answerError = (error: unknown) => {
      c.error = error as Error;
      c.res = handleError(error, c as unknown as Context);
    };
    // Refusals of the body (413, 415) answer here like a route's errors, so that
    // CORS, outside, still grants the origin on them.
    const inner: Next = withBody ? () => limitBody(c, checked).then(() => {}, answerError) : next;
    const scoped = allowOrigins ? () => allowOrigins(c, inner) : inner;
    try {
      const answer = await runWithRequestId(requestId, () =>
        trace ? withTrace(trace, scoped) : scoped(),
      );
      // CORS answers a preflight itself, as a middleware returning a Response.
      if (answer instanceof Response && !c.finalized) c.res = answer;
    } catch (error) {
      answerError(error);
    }
    if (!outgoing) {
      const headers = c.res.headers;
      for (const [name, value] of SECURITY_HEADERS)
        if (!headers.has(name)) headers.set(name, value);
    }
    const seconds = (performance.now() - started) / 1000;
    const route = routeTemplate(c);
    metrics.http.record(method, route, c.res.status, seconds);
    if (!route.startsWith("/health") && route !== "/metrics") {
      // Outside the request's scope now: the id goes in as a field.
      accessLog.info(
        {
          requestId,
          method,
          path: c.req.path,
          route,
          status: c.res.status,
          ms: Math.round(seconds * 1000),
          ...(trace ? { traceId: trace.traceId } : {}),
        },
        "request",
      );
    }
  });

  const tokenLimit = options.tokenRateLimit;
  if (tokenLimit && tokenLimit.perMinute > 0) {
    app.use("/api/*", async (c, next) => {
      const token = /^Bearer\s+(\S+)/i.exec(c.req.header("authorization") ?? "")?.[1];
      // Keyed by the token itself, not its claims: a forged token naming someone
      // else's id must not spend their budget (it is refused later anyway).
      if (token) {
        // Started in the same tick as the rate-limit hit, so both go to Redis in one write.
        const hint = tokenLimit.verifier?.prefetch?.(token);
        if (hint) c.set("verifyHint", hint);
        await enforceRateLimit(
          tokenLimit.limiter,
          { name: "api-token", limit: tokenLimit.perMinute, windowSeconds: 60 },
          sha256(token),
        );
      }
      await next();
    });
  }

  app.get("/health/liveness", (c) => c.json({ status: "ok" }));
  // Probes ask every few seconds: an outage is logged when it starts and ends, not per probe.
  const failing = new Set<string>();
  app.get("/health/readiness", async (c) => {
    const checks: Record<string, string> = {};
    const reasons: Record<string, string> = {};
    let ok = true;
    for (const [name, check] of Object.entries(options.readiness ?? {})) {
      try {
        await withTimeout(check(), 2000);
        checks[name] = "ok";
        if (failing.delete(name)) logger.info({ check: name }, "readiness check passes again");
      } catch (error) {
        ok = false;
        checks[name] = "failing";
        reasons[name] = networkReason(error);
        if (!failing.has(name)) {
          failing.add(name);
          logger.warn(
            { err: error, check: name },
            "readiness check failed; answering 503 until it passes",
          );
        }
      }
    }
    return c.json(
      { status: ok ? "ok" : "unavailable", checks, ...(ok ? {} : { reasons }) },
      ok ? 200 : 503,
    );
  });
  if (options.metricsEnabled ?? true) {
    app.get("/metrics", async (c) => {
      c.header("content-type", metrics.registry.contentType);
      return c.body(await metrics.registry.metrics());
    });
  }

  // The API description, built from the routes at first request (they are added after this).
  let document: OpenApiDocument | undefined;
  app.get("/openapi.json", (c) => {
    document ??= openApiDocument(app as unknown as Hono, {
      title: `minispod ${options.name}`,
      version: API_VERSION,
    });
    return c.json(document);
  });
  app.route("/", docsRoutes("openapi.json", `minispod ${options.name} API`));

  app.notFound((c) => {
    throw new AppError("NOT_FOUND", { detail: `No route for ${c.req.method} ${c.req.path}.` });
  });
  app.onError(handleError);
  return app;
}

function routeTemplate(c: Context<AppEnv>): string {
  const routes = matchedRoutes(c as unknown as Context);
  const handler = routes[c.req.routeIndex];
  // Middleware registered on "*" matches every request; only a real handler names the route.
  if (!handler || handler.path === "/*" || handler.path === "*") return "unmatched";
  return handler.path;
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
