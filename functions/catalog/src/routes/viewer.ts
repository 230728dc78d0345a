import {
  type AppEnv,
  type AuthClaims,
  isAdmin,
  requireAuth,
  type TokenVerifier,
} from "@minispod/shared";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";

/**
 * For public routes: no Authorization header means an anonymous visitor; a
 * header that is present is checked like `requireAuth` does (401 when bad),
 * so a client never silently gets the anonymous view for a broken token.
 */
export function optionalAuth(verifier: TokenVerifier) {
  const strict = requireAuth(verifier);
  return createMiddleware<AppEnv>(async (c, next) => {
    if (c.req.header("authorization") === undefined) return next();
    return strict(c, next);
  });
}

/** The signed-in caller after `optionalAuth`, if any. */
export function viewer(c: Context<AppEnv>): AuthClaims | undefined {
  // `auth` is typed as always set because most routes use requireAuth; here it may not be.
  return c.get("auth") as AuthClaims | undefined;
}

export const viewerIsAdmin = (c: Context<AppEnv>) => {
  const claims = viewer(c);
  return claims !== undefined && isAdmin(claims.role);
};
