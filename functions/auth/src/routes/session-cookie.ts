import type { AppEnv } from "@minispod/shared";
import type { Context } from "hono";
import { deleteCookie, generateCookie, getCookie, setCookie } from "hono/cookie";
import type { IssuedSession } from "../services/sessions";

/**
 * The browser's session: a web page never sees the refresh token. A request
 * that sends `Minispod-Session: cookie` gets the refresh token as an HttpOnly,
 * Secure, SameSite=Strict cookie scoped to the auth routes, and a body without
 * it. Refresh and logout then read the cookie, and only when that header is
 * present: a cross-site form cannot set a custom header, and a cross-site
 * fetch that sets one needs a CORS preflight the API does not grant, so the
 * cookie can never be spent by another site (CSRF is impossible by construction,
 * on top of SameSite=Strict).
 */
export const SESSION_HEADER = "minispod-session";
export const SESSION_HEADER_VALUE = "cookie";
export const REFRESH_COOKIE = "minispod_refresh";
/** Only the auth routes receive the cookie; the pages and the rest of the API never do. */
export const REFRESH_COOKIE_PATH = "/api/v1/auth";

export const wantsCookieSession = (c: Context<AppEnv>) =>
  c.req.header(SESSION_HEADER) === SESSION_HEADER_VALUE;

export const refreshCookie = (c: Context<AppEnv>) => getCookie(c, REFRESH_COOKIE);

/** Sets the cookie and returns the body to send: the session without its refresh token. */
export function cookieSession(
  c: Context<AppEnv>,
  session: IssuedSession,
  maxAgeSeconds: number,
): Omit<IssuedSession, "refreshToken"> {
  setCookie(c, REFRESH_COOKIE, session.refreshToken, {
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    path: REFRESH_COOKIE_PATH,
    maxAge: maxAgeSeconds,
  });
  const { refreshToken: _, ...rest } = session;
  return rest;
}

export function clearRefreshCookie(c: Context<AppEnv>) {
  deleteCookie(c, REFRESH_COOKIE, {
    path: REFRESH_COOKIE_PATH,
    secure: true,
    httpOnly: true,
    sameSite: "Strict",
  });
}

/** The Set-Cookie value that clears the cookie, for a response built without the context. */
export const clearedRefreshCookie = () =>
  generateCookie(REFRESH_COOKIE, "", {
    path: REFRESH_COOKIE_PATH,
    secure: true,
    httpOnly: true,
    sameSite: "Strict",
    maxAge: 0,
  });
