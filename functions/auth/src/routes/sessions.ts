import { type AppEnv, AppError, fields, handleError, jsonBody } from "@minispod/shared";
import { Hono, type MiddlewareHandler } from "hono";
import * as v from "valibot";
import type { AuthDeps } from "../deps";
import { login, register } from "../services/accounts";
import { passwordSchema } from "../services/passwords";
import { logout, rotateRefreshToken } from "../services/sessions";
import { toUserDto } from "../services/users";
import { authLimits, clientInfo } from "./limits";
import { notes } from "./openapi";
import {
  clearedRefreshCookie,
  clearRefreshCookie,
  cookieSession,
  refreshCookie,
  wantsCookieSession,
} from "./session-cookie";

const refreshBody = v.object({
  refreshToken: v.pipe(
    v.string("must be a string"),
    v.nonEmpty("is required"),
    v.maxLength(200, "is too long"),
  ),
});

/** register, login, refresh, logout. */
export function sessionRoutes(deps: AuthDeps) {
  const limits = authLimits(deps);
  const refreshTtl = deps.env.JWT_REFRESH_EXPIRES_IN;
  // The browser's refresh and logout: the token comes from the cookie, never from page script.
  const fromCookie =
    (action: "refresh" | "logout"): MiddlewareHandler<AppEnv> =>
    async (c, next) => {
      if (!wantsCookieSession(c)) return next();
      const token = refreshCookie(c);
      c.header("cache-control", "no-store");
      if (action === "logout") {
        if (token) await logout(deps, token);
        clearRefreshCookie(c);
        return c.body(null, 204);
      }
      if (!token) throw new AppError("UNAUTHORIZED", { detail: "No session: sign in again." });
      try {
        const { session, user } = await rotateRefreshToken(deps, token, clientInfo(c));
        return c.json({ ...cookieSession(c, session, refreshTtl), user: toUserDto(user) });
      } catch (error) {
        // The problem response is built fresh, so the cleared cookie is added to it here.
        const res = handleError(error, c);
        res.headers.append("set-cookie", clearedRefreshCookie());
        return res;
      }
    };
  return new Hono<AppEnv>()
    .post(
      "/register",
      notes.register,
      limits.register,
      jsonBody(v.object({ email: fields.email(), password: passwordSchema, name: fields.name() })),
      async (c) => {
        const { user, session } = await register(deps, c.req.valid("json"), clientInfo(c));
        c.header("cache-control", "no-store");
        const body = wantsCookieSession(c) ? cookieSession(c, session, refreshTtl) : session;
        return c.json({ user: toUserDto(user), ...body }, 201);
      },
    )
    .post(
      "/login",
      notes.login,
      limits.login,
      jsonBody(
        v.object({
          email: fields.email(),
          // Login accepts any string: length rules apply when a password is set, not when tried.
          password: v.pipe(
            v.string("must be a string"),
            v.nonEmpty("is required"),
            v.maxLength(1024, "is too long"),
          ),
        }),
      ),
      async (c) => {
        const input = c.req.valid("json");
        await limits.perEmail("login", input.email);
        const { user, session } = await login(deps, input, clientInfo(c));
        c.header("cache-control", "no-store");
        const body = wantsCookieSession(c) ? cookieSession(c, session, refreshTtl) : session;
        return c.json({ ...body, user: toUserDto(user) });
      },
    )
    .post(
      "/refresh",
      notes.refresh,
      limits.login,
      fromCookie("refresh"),
      jsonBody(refreshBody),
      async (c) => {
        const { session, user } = await rotateRefreshToken(
          deps,
          c.req.valid("json").refreshToken,
          clientInfo(c),
        );
        c.header("cache-control", "no-store");
        return c.json({ ...session, user: toUserDto(user) });
      },
    )
    .post("/logout", notes.logout, fromCookie("logout"), jsonBody(refreshBody), async (c) => {
      await logout(deps, c.req.valid("json").refreshToken);
      return c.body(null, 204);
    });
}
