import { randomUUID } from "node:crypto";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { matchedRoutes } from "hono/route";
import { secureHeaders } from "hono/secure-headers";
import type { AuthClaims } from "./auth";
import type { RateLimiter } from "./cache";
import { sha256 } from "./crypto";
import { docsRoutes } from "./docs";
import { AppError, handleError } from "./errors";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import { type OpenApiDocument, openApiDocument } from "./openapi";
import { enforceRateLimit } from "./rate-limit";

/** Version of the public API description. */
export const API_VERSION = "1.0.0";

export interface AppVariables {
  requestId: string;
  logger: Logger;
  auth: AuthClaims;
}
export type AppEnv = { Variables: AppVariables };

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
  /** Requests per minute one access token may make to `/api/*` (0 = no limit). */
  tokenRateLimit?: { limiter: RateLimiter; perMinute: number };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

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
  const { logger, metrics } = options;

  app.use("*", async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.set("requestId", requestId);
    c.set("logger", logger.child({ requestId }));
    c.header("x-request-id", requestId);
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = routeTemplate(c);
    const labels = { method: c.req.method, route, status: String(c.res.status) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, seconds);
    if (!route.startsWith("/health") && route !== "/metrics") {
      c.get("logger").info(
        {
          method: c.req.method,
          path: c.req.path,
          route,
          status: c.res.status,
          ms: Math.round(seconds * 1000),
        },
        "request",
      );
    }
  });

  app.use("*", secureHeaders({ crossOriginResourcePolicy: "same-site" }));
  const origins = options.corsOrigins ?? [];
  if (origins.length > 0) {
    app.use(
      "*",
      cors({
        origin: origins,
        allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
        exposeHeaders: ["X-Request-Id", "Retry-After"],
        maxAge: 600,
      }),
    );
  }

  app.use(
    "*",
    bodyLimit({
      maxSize: options.bodyLimitBytes ?? 1024 * 1024,
      onError: () => {
        throw new AppError("PAYLOAD_TOO_LARGE", {
          detail: `The request body exceeds ${options.bodyLimitBytes ?? 1024 * 1024} bytes.`,
        });
      },
    }),
  );

  app.use("/api/*", async (c, next) => {
    if (BODY_METHODS.has(c.req.method)) {
      const type = c.req.header("content-type");
      const mediaType = type?.split(";")[0]?.trim().toLowerCase();
      const declaresBody = type !== undefined || Number(c.req.header("content-length") ?? 0) > 0;
      // Body-less POSTs (`curl -X POST`) carry no content type and pass; any body must be JSON.
      if (declaresBody && mediaType !== "application/json" && !mediaType?.endsWith("+json")) {
        throw new AppError("UNSUPPORTED_MEDIA_TYPE", {
          detail: "Send the request body as application/json.",
        });
      }
    }
    await next();
  });

  const tokenLimit = options.tokenRateLimit;
  if (tokenLimit && tokenLimit.perMinute > 0) {
    app.use("/api/*", async (c, next) => {
      const token = /^Bearer\s+(\S+)/i.exec(c.req.header("authorization") ?? "")?.[1];
      // Keyed by the token itself, not its claims: a forged token naming someone
      // else's id must not spend their budget (it is refused later anyway).
      if (token) {
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
  app.get("/health/readiness", async (c) => {
    const checks: Record<string, string> = {};
    let ok = true;
    for (const [name, check] of Object.entries(options.readiness ?? {})) {
      try {
        await withTimeout(check(), 2000);
        checks[name] = "ok";
      } catch (error) {
        ok = false;
        checks[name] = "failing";
        c.get("logger").warn({ err: error, check: name }, "readiness check failed");
      }
    }
    return c.json({ status: ok ? "ok" : "unavailable", checks }, ok ? 200 : 503);
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
