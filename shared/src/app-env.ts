import { ServerResponse } from "node:http";
import type { Context } from "hono";
import type { AuthClaims, VerifyHint } from "./jwt";
import type { Logger } from "./logger";
import type { ProxyTrust } from "./proxies";

/**
 * The Hono environment every function's app shares: what the request middleware puts on
 * the context. Its own module so middlewares (auth, rate limits, audit) and the app factory
 * can all name it without importing each other.
 *
 * @example
 *   const routes = new Hono<AppEnv>().get("/", (c) => c.json({ id: c.get("requestId") }));
 */
export interface AppVariables {
  requestId: string;
  logger: Logger;
  auth: AuthClaims;
  /** Cache reads started for the request's bearer token (see TokenVerifier.prefetch). */
  verifyHint?: VerifyHint;
  /** Which X-Forwarded-For entries come from our own proxies (see clientIp). */
  proxyTrust?: ProxyTrust;
}
export type AppEnv = { Variables: AppVariables };

/** The Node response under @hono/node-server (absent under `app.request()` and other runtimes). */
export function nodeResponse(c: Context): ServerResponse | undefined {
  const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing;
  return outgoing instanceof ServerResponse ? outgoing : undefined;
}

/**
 * Sets a response header for whatever response the request ends with. Under
 * Node it goes straight on the ServerResponse (a plain header map): building
 * a WHATWG Headers object per request is what made the cheapest route cost
 * four times bare node:http. Headers the route's own Response sets win.
 */
export function setResponseHeader(c: Context, name: string, value: string): void {
  const outgoing = nodeResponse(c);
  if (outgoing) outgoing.setHeader(name, value);
  else c.header(name, value);
}
