import { type AppEnv, fields, jsonBody } from "@minispod/shared";
import { Hono } from "hono";
import * as v from "valibot";
import type { AuthDeps } from "../deps";
import { login, register } from "../services/accounts";
import { passwordSchema } from "../services/passwords";
import { logout, rotateRefreshToken } from "../services/sessions";
import { toUserDto } from "../services/users";
import { authLimits, clientInfo } from "./limits";
import { notes } from "./openapi";

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
  return new Hono<AppEnv>()
    .post(
      "/register",
      notes.register,
      limits.register,
      jsonBody(v.object({ email: fields.email(), password: passwordSchema, name: fields.name() })),
      async (c) => {
        const { user, session } = await register(deps, c.req.valid("json"), clientInfo(c));
        c.header("cache-control", "no-store");
        return c.json({ user: toUserDto(user), ...session }, 201);
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
        return c.json({ ...session, user: toUserDto(user) });
      },
    )
    .post("/refresh", notes.refresh, limits.login, jsonBody(refreshBody), async (c) => {
      const { session, user } = await rotateRefreshToken(
        deps,
        c.req.valid("json").refreshToken,
        clientInfo(c),
      );
      c.header("cache-control", "no-store");
      return c.json({ ...session, user: toUserDto(user) });
    })
    .post("/logout", notes.logout, jsonBody(refreshBody), async (c) => {
      await logout(deps, c.req.valid("json").refreshToken);
      return c.body(null, 204);
    });
}
