import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env";
import { AppError } from "./errors";
import { DEFAULT_PROXY_TRUST, type ProxyTrust, resolveClientIp } from "./proxies";
import type { RateLimiter } from "./store";

export interface RateLimitRule {
  /** Name of the limit, part of the key ("login", "register", …). */
  name: string;
  limit: number;
  windowSeconds: number;
  /** What is counted: by default the client address. */
  key?: (c: Context<AppEnv>) => string | Promise<string>;
}

/**
 * The client's address, from X-Forwarded-For as far as the app's proxy trust
 * allows (`TRUST_PROXY_HOPS` / `TRUSTED_PROXIES`, see ProxyTrust), else the
 * socket's peer. Every function reads it the same way: rate limits, sessions
 * and the audit trail.
 */
export function clientIp(c: Context): string {
  // @hono/node-server exposes the socket as env.incoming.
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)
    ?.incoming;
  return resolveClientIp(
    c.req.header("x-forwarded-for"),
    incoming?.socket?.remoteAddress,
    (c.get("proxyTrust") as ProxyTrust | undefined) ?? DEFAULT_PROXY_TRUST,
  );
}

/**
 * Answers 429 with `Retry-After` once a key passes its limit in the window.
 *
 * @example
 * app.post("/login", rateLimit(limiter, { name: "login", limit: 10, windowSeconds: 60 }), handler);
 */
export function rateLimit(limiter: RateLimiter, rule: RateLimitRule) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const subject = rule.key ? await rule.key(c) : clientIp(c);
    await enforceRateLimit(limiter, rule, subject);
    await next();
  });
}

/** Same check, callable from a handler once the key is known (e.g. the email in a body). */
export async function enforceRateLimit(
  limiter: RateLimiter,
  rule: Pick<RateLimitRule, "name" | "limit" | "windowSeconds">,
  subject: string,
): Promise<void> {
  const outcome = await limiter.hit(`${rule.name}:${subject}`, rule.limit, rule.windowSeconds);
  if (!outcome.allowed) {
    throw new AppError("RATE_LIMITED", {
      detail: `Too many attempts; try again in ${outcome.retryAfterSeconds} s.`,
      retryAfter: outcome.retryAfterSeconds,
    });
  }
}
