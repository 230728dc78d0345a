import type { UserRole } from "@minispod/db";
import { createMiddleware } from "hono/factory";
import { type AppEnv, setResponseHeader } from "./app-env";
import { AppError } from "./errors";
import { TokenError, type TokenVerifier } from "./jwt";
import { annotate } from "./openapi";

export type { AuthClaims } from "./jwt";

/**
 * Requires a valid `Authorization: Bearer <access token>`; puts the claims in
 * `c.get("auth")`. Missing -> 401 UNAUTHORIZED; expired -> 401 TOKEN_EXPIRED;
 * anything else wrong -> 401 INVALID_TOKEN.
 *
 * @example
 * app.get("/things", requireAuth(verifier), (c) => c.json(c.get("auth")));
 */
export function requireAuth(verifier: TokenVerifier) {
  return annotate(
    createMiddleware<AppEnv>(async (c, next) => {
      const header = c.req.header("authorization");
      if (!header) {
        throw new AppError("UNAUTHORIZED", {
          detail: "Send an access token as `Authorization: Bearer <token>`.",
        });
      }
      const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header);
      if (!match?.[1]) {
        throw new AppError("INVALID_TOKEN", {
          detail: "The Authorization header is not a Bearer token.",
        });
      }
      try {
        c.set("auth", await verifier.verify(match[1], c.get("verifyHint")));
      } catch (error) {
        if (error instanceof TokenError && error.reason === "expired") {
          throw new AppError("TOKEN_EXPIRED", {
            detail: "The access token has expired; refresh it.",
          });
        }
        throw new AppError("INVALID_TOKEN", { detail: "The access token is not valid." });
      }
      setResponseHeader(c, "cache-control", "no-store");
      await next();
    }),
    { auth: true },
  );
}

/** Allows only the given roles (after `requireAuth`); others get 403. */
export function requireRole(...roles: UserRole[]) {
  const allowed = new Set(roles);
  return annotate(
    createMiddleware<AppEnv>(async (c, next) => {
      if (!allowed.has(c.get("auth").role)) {
        throw new AppError("FORBIDDEN", { detail: "Your role does not allow this." });
      }
      await next();
    }),
    { auth: true, roles },
  );
}

export const isAdmin = (role: UserRole) => role === "ADMIN" || role === "SUPER_ADMIN";
