import { createHmac } from "node:crypto";
import { clientIp, enforceRateLimit, rateLimit, sha256 } from "@minispod/shared";
import type { Context } from "hono";
import type { AuthDeps } from "../deps";
import type { ClientInfo } from "../services/sessions";

/** Rate limits of the public auth routes, per client address (and per email where one is sent). */
export function authLimits(deps: AuthDeps) {
  const window = deps.env.AUTH_RATE_LIMIT_WINDOW;
  // Limit keys live in Redis for a window: keyed by a keyed hash, never the
  // address itself, and not a plain hash either (a list of addresses would
  // reverse it). The key is derived from the signing key auth alone holds.
  const emailKey = sha256(`rate-limit-email:${deps.env.JWT_PRIVATE_KEY}`);
  const hashEmail = (email: string) =>
    createHmac("sha256", emailKey).update(email.toLowerCase()).digest("base64url");
  const rule = (name: string, limit: number) => ({
    name: `auth:${name}`,
    limit,
    windowSeconds: window,
  });
  return {
    login: rateLimit(deps.limiter, {
      ...rule("login-ip", deps.env.AUTH_RATE_LIMIT_LOGIN * 3),
    }),
    register: rateLimit(deps.limiter, {
      ...rule("register-ip", deps.env.AUTH_RATE_LIMIT_REGISTER),
    }),
    reset: rateLimit(deps.limiter, {
      ...rule("reset-ip", deps.env.AUTH_RATE_LIMIT_RESET * 3),
    }),
    /** Per account: stops one email being hammered from many addresses. */
    perEmail: (name: "login" | "reset", email: string) =>
      enforceRateLimit(
        deps.limiter,
        rule(
          `${name}-email`,
          name === "login" ? deps.env.AUTH_RATE_LIMIT_LOGIN : deps.env.AUTH_RATE_LIMIT_RESET,
        ),
        hashEmail(email),
      ),
  };
}

export function clientInfo(c: Context): ClientInfo {
  return {
    userAgent: c.req.header("user-agent"),
    ip: clientIp(c),
    requestId: c.get("requestId"),
  };
}
