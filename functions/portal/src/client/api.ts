import createClient from "openapi-fetch";
import type { paths } from "./api-types";

/**
 * The API client, typed from the merged OpenAPI document (api-types.ts is
 * generated). The access token lives only in this module's memory; the
 * refresh token is an HttpOnly cookie auth sets, sent only to /api/v1/auth
 * and only spent with the `Minispod-Session` header a cross-site page cannot send.
 */
export const api = createClient<paths>({ baseUrl: "" });

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: string;
  emailVerified: boolean;
}

const SESSION_HEADERS = { "minispod-session": "cookie" };
let token: string | undefined;
let expiresAt = 0;
let current: SessionUser | undefined;
let refreshing: Promise<boolean> | undefined;
const listeners = new Set<() => void>();

export const session = {
  get user() {
    return current;
  },
  onChange(fn: () => void) {
    listeners.add(fn);
  },
};

interface Issued {
  accessToken: string;
  expiresIn: number;
  user?: SessionUser;
}

/** Keeps a new access token (and user) in memory. */
export function signedIn(issued: Issued) {
  token = issued.accessToken;
  expiresAt = Date.now() + issued.expiresIn * 1000;
  if (issued.user) current = issued.user;
  for (const fn of listeners) fn();
}

function signedOutLocally() {
  token = undefined;
  expiresAt = 0;
  current = undefined;
  for (const fn of listeners) fn();
}

/** A new access token from the refresh cookie; false when there is no session. */
export function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const res = await fetch("/api/v1/auth/refresh", {
        method: "POST",
        headers: SESSION_HEADERS,
        credentials: "same-origin",
      });
      if (!res.ok) {
        signedOutLocally();
        return false;
      }
      signedIn((await res.json()) as Issued);
      return true;
    } catch {
      return false;
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

export async function signOut(everywhere = false) {
  if (everywhere && token) await api.POST("/api/v1/auth/logout/all");
  await fetch("/api/v1/auth/logout", { method: "POST", headers: SESSION_HEADERS });
  signedOutLocally();
}

const COOKIE_ROUTES = /^\/api\/v1\/auth\/(register|login|password\/change)$/;

api.use({
  async onRequest({ request }) {
    const path = new URL(request.url).pathname;
    if (COOKIE_ROUTES.test(path)) request.headers.set("minispod-session", "cookie");
    // A token about to expire is renewed first (never for the session calls themselves).
    if (!/^\/api\/v1\/auth\/(refresh|login|register|logout)$/.test(path)) {
      if (token && Date.now() > expiresAt - 30_000) await refresh();
    }
    if (token) request.headers.set("authorization", `Bearer ${token}`);
    return request;
  },
});

/** The Authorization header for a call made outside the typed client (polling), renewed when due. */
export async function authorization(): Promise<string | undefined> {
  if (token && Date.now() > expiresAt - 30_000) await refresh();
  return token ? `Bearer ${token}` : undefined;
}
