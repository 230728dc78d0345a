import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app";
import type { RateLimiter } from "./cache";
import { AppError } from "./errors";

export interface RateLimitRule {
  /** Name of the limit, part of the key ("login", "register", …). */
  name: string;
  limit: number;
  windowSeconds: number;
  /** What is counted: by default the client address. */
  key?: (c: Context<AppEnv>) => string | Promise<string>;
}

/**
 * Client address. X-Forwarded-For is written left to right by each proxy, and
 * only the entries added by our own proxies can be trusted: with `trustedHops`
 * proxies in front (ingress, Knative), the client is that many entries from the
 * right. Anything further left is whatever the client chose to send.
 */
export function clientIp(c: Context, trustedHops = 1): string {
  const hops = (c.req.header("x-forwarded-for") ?? "")
    .split(",")
    .map((h) => h.trim())
    .filter(Boolean);
  if (trustedHops > 0 && hops.length > 0) {
    return hops[Math.max(0, hops.length - trustedHops)]!;
  }
  // @hono/node-server exposes the socket as env.incoming.
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)
    ?.incoming;
  return incoming?.socket?.remoteAddress ?? "unknown";
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
